/** @module Browser entry point. */
import { render } from 'preact';
import { App } from '#src/app.tsx';
import '#src/styles.css';

const root = document.getElementById('app');
if (root) render(<App />, root);
