/** The console's entry point: mounts the app on the page Governor serves at /console. */
import { render } from 'preact';
import { App } from './app.tsx';

const root = document.getElementById('app');
if (root) render(<App />, root);
