/**
 * Runtime schemas for every client-to-server payload. The server validates each
 * inbound message with these; the client only imports the inferred types.
 */
import { z } from 'zod';
import { LIMITS } from './limits.js';

const field = z.string().max(LIMITS.maxFieldChars);

/** Host names and IP literals (IPv6 with or without brackets); never a URL or user@host. */
export const hostSchema = z
  .string()
  .trim()
  .min(1)
  .max(LIMITS.maxHostChars)
  .regex(/^(\[[0-9a-fA-F:.]+\]|[0-9a-fA-F:.]+|[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?)$/, 'not a host name or IP address')
  .transform((h) => h.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, ''));

export const portSchema = z.coerce.number().int().min(1).max(65535);

/**
 * Geometry: non-integers and values below 1 are rejected; values above the limits are
 * clamped, because a huge window is a legitimate (if odd) screen, not an attack.
 */
const dimension = (max: number) =>
  z
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .transform((n) => Math.min(n, max));

export const sizeSchema = z.object({
  cols: dimension(LIMITS.maxCols),
  rows: dimension(LIMITS.maxRows),
});

export const credentialsSchema = z
  .object({
    host: hostSchema,
    port: portSchema.default(22),
    username: z.string().min(1).max(LIMITS.maxFieldChars),
    password: field.optional(),
    privateKey: z.string().max(LIMITS.maxPrivateKeyChars).optional(),
    passphrase: field.optional(),
  })
  .strict();

export const startSchema = z
  .object({
    /** `grant`: credentials were handed over by POST or Basic auth and wait in the session. */
    auth: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('grant') }).strict(),
      z.object({ kind: z.literal('credentials'), credentials: credentialsSchema }).strict(),
    ]),
    size: sizeSchema,
  })
  .strict();

/** Resume secrets: 32 random bytes, base64url. */
export const RESUME_SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export const resumeSchema = z
  .object({
    session: z.string().uuid(),
    secret: z.string().regex(RESUME_SECRET_PATTERN, 'not a resume secret'),
    /** Output bytes the page has; absent for a fresh page, which gets the recent screen. */
    offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    size: sizeSchema,
  })
  .strict();

export const inputSchema = z.union([
  z.string().max(LIMITS.maxInputBytes),
  z.instanceof(Uint8Array).refine((b) => b.byteLength <= LIMITS.maxInputBytes, 'input too large'),
]);

export const ackSchema = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

export const kbdAnswersSchema = z.array(field).max(LIMITS.maxKbdAnswers);

export type Credentials = z.output<typeof credentialsSchema>;
export type CredentialsInput = z.input<typeof credentialsSchema>;
export type StartRequest = z.input<typeof startSchema>;
export type ResumeRequest = z.input<typeof resumeSchema>;
export type ResumeCommand = z.output<typeof resumeSchema>;
export type StartCommand = z.output<typeof startSchema>;
export type TermSize = z.output<typeof sizeSchema>;
