/**
 * Reads the page configuration the server put into `<meta name="webssh-config">`, plus
 * the debug/test switches from the query string. Values are validated by hand: the
 * client bundle must not pull in zod, and a broken page should still render a form.
 */
import type { PageConfig } from '../src/shared/protocol.js';

export interface ClientOptions {
  /** `?transport=websocket|polling` forces one Engine.IO transport (tests use it). */
  transport: 'websocket' | 'polling' | undefined;
  /** `?renderer=dom` skips the WebGL renderer (the DOM renderer keeps `.xterm-rows` text). */
  renderer: 'webgl' | 'dom';
}

const DEFAULT_CONFIG: PageConfig = { root: './', mode: 'form', prefill: {}, reloadReconnects: false };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseConfig(raw: string | null | undefined): PageConfig {
  if (!raw || raw === '%CONFIG%') return { ...DEFAULT_CONFIG };
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    console.warn('webssh: unreadable page config, using defaults');
    return { ...DEFAULT_CONFIG };
  }
  if (!isRecord(data)) return { ...DEFAULT_CONFIG };

  const root = typeof data['root'] === 'string' && data['root'] !== '' ? data['root'] : DEFAULT_CONFIG.root;
  const prefill: PageConfig['prefill'] = {};
  const p = isRecord(data['prefill']) ? data['prefill'] : {};
  if (typeof p['host'] === 'string' && p['host'] !== '') prefill.host = p['host'];
  if (typeof p['port'] === 'number' && Number.isInteger(p['port'])) prefill.port = p['port'];
  if (typeof p['username'] === 'string' && p['username'] !== '') prefill.username = p['username'];

  return {
    root: root.endsWith('/') ? root : `${root}/`,
    mode: data['mode'] === 'grant' ? 'grant' : 'form',
    prefill,
    reloadReconnects: data['reloadReconnects'] === true,
  };
}

export function readConfig(doc: Document = document): PageConfig {
  const meta = doc.querySelector('meta[name="webssh-config"]');
  return parseConfig(meta?.getAttribute('content'));
}

export function readOptions(search: string = location.search): ClientOptions {
  const params = new URLSearchParams(search);
  const transport = params.get('transport');
  return {
    transport: transport === 'websocket' || transport === 'polling' ? transport : undefined,
    renderer: params.get('renderer') === 'dom' ? 'dom' : 'webgl',
  };
}
