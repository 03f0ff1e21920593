export { addVirtualAuthenticator, CHROMIUM, launchBrowser } from './browser.ts';
export { dockerAvailable, TEST_INSTANCE_IMAGE } from './docker.ts';
export { toolAvailable } from './tools.ts';
