export { BROWSER_DIR } from './browser.ts';
export {
  TELEGRAM_SECRET_HEADER,
  TELEGRAM_WEBHOOK_PATH,
  telegramWebhookSecret,
} from './channels/telegramWebhook.ts';
export { bytes, ConfigError, duration, parseBytes, parseDuration, parseEnv, port } from './env.ts';
export { errorHandler, HttpError, notFoundHandler } from './errors.ts';
export { freePort } from './freePort.ts';
export {
  HANDLE_RULES,
  type HandleCheck,
  RESERVED_HANDLES,
  validateHandle,
} from './handles/validateHandle.ts';
export { limitBody } from './http/limitBody.ts';
export {
  badBody,
  errorBody,
  failure,
  json,
  jsonBody,
  type Method,
  type OpenAPIRegistry,
  openApiPath,
  type Responses,
  routeTable,
  type Security,
} from './http/openapi.ts';
export {
  INSTANCE_PASS_COOKIES,
  INSTANCE_PASS_ISSUER,
  INSTANCE_PASS_TTL_S,
  INSTANCE_REFRESH_PATH,
  type InstancePassClaims,
  instancePassCookie,
  safeReturnPath,
} from './instanceLink/instancePass.ts';
export { instancePassKey } from './instanceLink/instancePassKey.ts';
export {
  ACTIVITY_PATH,
  ACTIVITY_REPORT_EVERY_MS,
  type ActivityReport,
  activityReportBody,
  REVOCATIONS_PATH,
  type Revocations,
  revocationsBody,
} from './instanceLink/platformLink.ts';
export { signInstancePass } from './instanceLink/signInstancePass.ts';
export { type PassCheck, verifyInstancePass } from './instanceLink/verifyInstancePass.ts';
export { readJson, validationError } from './json.ts';
export { createLogger, type Logger } from './logger.ts';
export { createSealer, type Sealer } from './secrets/sealer.ts';
export { loadSecretKey, parseSecretKey, readOrCreateSecret } from './secrets/secretFile.ts';
export { bearerToken, newToken, safeEqual } from './tokens.ts';
