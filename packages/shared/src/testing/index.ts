export { CHROMIUM_ARGS, CHROMIUM_PATH, launchChromium, type TestBrowser } from './browser.ts';
export { dockerAvailable, TEST_INSTANCE_IMAGE } from './docker.ts';
export { selfSignedCert } from './selfSignedCert.ts';
export { startSynapse, type TestSynapse } from './synapse.ts';
export { toolAvailable } from './tools.ts';
