import type { IdpEvent } from '../event.js';

/** Keycloak says "Maximum allowed refresh token reuse exceeded"; other IdPs "refresh token reused", "reuse detected". */
export function mentionsReuse(text: string | undefined): boolean {
  return text !== undefined && /\breuse/i.test(text);
}

/** The event with its refresh-token facts, added only when the line has them (most lines do not). */
export function withRefreshToken(event: IdpEvent, refreshTokenId: string | undefined, reused: boolean): IdpEvent {
  if (refreshTokenId === undefined && !reused) return event;
  return { ...event, ...(refreshTokenId === undefined ? {} : { refreshTokenId }), ...(reused ? { refreshTokenReused: true } : {}) };
}
