/**
 * @module A strict JSON Schema for the Render Blueprint fields Plumb uses, written from Render's
 * published Blueprint specification (https://render.com/docs/blueprint-spec). Unknown keys are
 * rejected, so a typo fails here instead of being ignored by a sync.
 */
const envVar = {
  type: 'object',
  additionalProperties: false,
  required: ['key'],
  properties: {
    key: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
    value: { type: 'string' },
    generateValue: { const: true },
    sync: { const: false },
    fromDatabase: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'property'],
      properties: {
        name: { type: 'string' },
        property: {
          enum: ['connectionString', 'connectionPoolString', 'host', 'port', 'user', 'password', 'database'],
        },
      },
    },
    fromService: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'type'],
      properties: {
        name: { type: 'string' },
        type: { enum: ['web', 'pserv', 'worker', 'cron', 'keyvalue'] },
        property: { enum: ['host', 'port', 'hostport'] },
        envVarKey: { type: 'string' },
      },
    },
  },
  oneOf: [
    { required: ['value'] },
    { required: ['generateValue'] },
    { required: ['sync'] },
    { required: ['fromDatabase'] },
    { required: ['fromService'] },
  ],
} as const;

const webPlans = ['free', 'starter', 'standard', 'pro', 'pro plus', 'pro max', 'pro ultra'];
const databasePlans = [
  'free',
  'basic-256mb',
  'basic-1gb',
  'basic-4gb',
  'pro-4gb',
  'pro-8gb',
  'pro-16gb',
  'pro-32gb',
  'pro-64gb',
];
const regions = ['oregon', 'ohio', 'virginia', 'frankfurt', 'singapore'];

export const RENDER_BLUEPRINT_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  description:
    "The subset of Render's Blueprint specification (https://render.com/docs/blueprint-spec) Plumb uses.",
  type: 'object',
  additionalProperties: false,
  required: ['services'],
  properties: {
    services: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['type', 'name', 'runtime', 'image'],
        properties: {
          type: { const: 'web' },
          name: { type: 'string', pattern: '^[a-z][a-z0-9-]*$' },
          runtime: { const: 'image' },
          image: {
            type: 'object',
            additionalProperties: false,
            required: ['url'],
            properties: {
              url: { type: 'string', pattern: '^[a-z0-9.-]+/[a-z0-9._/-]+:[\\w][\\w.-]*$' },
              creds: {
                type: 'object',
                additionalProperties: false,
                required: ['fromRegistryCreds'],
                properties: {
                  fromRegistryCreds: {
                    type: 'object',
                    additionalProperties: false,
                    required: ['name'],
                    properties: { name: { type: 'string' } },
                  },
                },
              },
            },
          },
          plan: { enum: webPlans },
          region: { enum: regions },
          healthCheckPath: { type: 'string', pattern: '^/' },
          preDeployCommand: { type: 'string' },
          dockerCommand: { type: 'string' },
          numInstances: { type: 'integer', minimum: 1 },
          maxShutdownDelaySeconds: { type: 'integer', minimum: 1, maximum: 300 },
          autoDeployTrigger: { enum: ['commit', 'checksPass', 'off'] },
          envVars: { type: 'array', items: envVar },
        },
      },
    },
    databases: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'plan'],
        properties: {
          name: { type: 'string', pattern: '^[a-z][a-z0-9-]*$' },
          databaseName: { type: 'string', pattern: '^[a-z_][a-z0-9_]*$' },
          user: { type: 'string', pattern: '^[a-z_][a-z0-9_]*$' },
          plan: { enum: databasePlans },
          region: { enum: regions },
          postgresMajorVersion: { type: 'string', pattern: '^1[1-8]$' },
          ipAllowList: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['source'],
              properties: { source: { type: 'string' }, description: { type: 'string' } },
            },
          },
        },
      },
    },
  },
} as const;
