/** @module What this build is: name and version from package.json (bundled into the image's build). */
import manifest from '../package.json' with { type: 'json' };

export const APP_NAME = 'plumb';
export const APP_VERSION: string = manifest.version;
