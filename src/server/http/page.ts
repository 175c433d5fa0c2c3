/**
 * Renders the single page. The template (built from client/index.html) carries two
 * placeholders: the relative root (so every URL works behind a path-rewriting proxy)
 * and the page config as HTML-escaped JSON in a <meta> tag (no inline script, for CSP).
 */
import { readFileSync } from 'node:fs';
import type { PageConfig } from '../../shared/protocol.js';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Relative URL from the requested document to the base path. `/ssh` → `ssh/`,
 * `/ssh/` → `./`, `/ssh/host/x` → `../`.
 */
export function relativeRoot(basePath: string, requestPath: string): string {
  const rest = requestPath.slice(basePath.length);
  if (rest === '') return `${basePath.split('/').pop() ?? ''}/`;
  const depth = rest.split('/').length - 2; // segments between base and the document
  return depth <= 0 ? './' : '../'.repeat(depth);
}

export class PageRenderer {
  readonly #template: string;

  constructor(templatePath: string) {
    this.#template = readFileSync(templatePath, 'utf8');
  }

  render(root: string, config: Omit<PageConfig, 'root'>): string {
    const full: PageConfig = { root, ...config };
    return this.#template.replaceAll('%ROOT%', escapeHtml(root)).replace('%CONFIG%', escapeHtml(JSON.stringify(full)));
  }
}
