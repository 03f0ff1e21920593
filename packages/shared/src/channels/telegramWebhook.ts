import { createHmac } from 'node:crypto';

/** Where Telegram posts updates on an instance's host: the one path the router lets in by secret. */
export const TELEGRAM_WEBHOOK_PATH = '/api/channels/telegram/webhook';

/** The header Telegram sends with every webhook call, carrying the secret given to setWebhook. */
export const TELEGRAM_SECRET_HEADER = 'x-telegram-bot-api-secret-token';

/**
 * The instance's webhook secret, derived from its access token: the gateway (which registers it
 * with setWebhook) and the platform's router (which checks it before waking anything) both know
 * that token, so neither has to store or hand over another secret. 43 base64url characters, inside
 * Telegram's alphabet (A-Z, a-z, 0-9, _ and -, 1-256 long). A new token means a new secret.
 */
export function telegramWebhookSecret(instanceToken: string): string {
  return createHmac('sha256', instanceToken).update('matrixos telegram webhook v1').digest('base64url');
}
