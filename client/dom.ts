/** Typed DOM lookups: fail loudly at startup if the page template lacks an element. */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const el = document.getElementById(id);
  if (!(el instanceof type)) {
    throw new Error(`webssh: missing #${id} (${type.name}) in the page`);
  }
  return el;
}

/** Creates an element with optional class and text (never parses HTML). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; text?: string } = {},
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className !== undefined) node.className = props.className;
  if (props.text !== undefined) node.textContent = props.text;
  return node;
}

/** `user@host:port`, with IPv6 literals in brackets. */
export function formatTarget(t: { username?: string; host: string; port: number }): string {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  return `${t.username ? `${t.username}@` : ''}${host}:${t.port}`;
}
