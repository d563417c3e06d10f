/** HTML for the console: everything from outside is escaped here, once. */
import { t, type Lang } from './i18n.js';

const ESC: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML content and attributes. */
export const esc = (v: unknown): string => String(v ?? '').replace(/[&<>"']/g, (c) => ESC[c]!);

/** A page: the menu, the content, the console's stylesheet; scripts only where a page asks (charts). */
export function page(
  lang: Lang,
  title: string,
  body: string,
  o: {
    csrf?: string;
    scripts?: readonly string[];
    nav?: boolean;
    live?: { on: boolean; path: string };
    /** Where this console's pages are (`/a/<serviceId>` when the process serves several accounts; '' alone). */
    base?: string;
    /** Several accounts: the one shown, and every one with its console's address (the selector, and the overview of all). */
    accounts?: { readonly current: string; readonly all: readonly { readonly id: string; readonly href: string }[]; readonly overview: string };
  } = {},
): string {
  const B = o.base ?? '';
  // Pages an operator watches refresh themselves every 5 s (no script: the CSP stays strict); a toggle turns it off.
  const live = o.live
    ? `<p class="live">${t(lang, 'Live updates')}: ${t(lang, o.live.on ? 'on' : 'off')} — <a href="${B}/live?on=${o.live.on ? '0' : '1'}&amp;back=${encodeURIComponent(o.live.path)}">${t(lang, o.live.on ? 'Pause' : 'Resume')}</a></p>`
    : '';
  const nav =
    o.nav === false
      ? ''
      : `<nav>${
          o.accounts
            ? `<a href="${esc(o.accounts.overview)}">${t(lang, 'All accounts')}</a> <span class="account">${t(lang, 'Account')} ${o.accounts.all
                .map((a) => (a.id === o.accounts!.current ? `<b>${esc(a.id)}</b>` : `<a href="${esc(a.href)}">${esc(a.id)}</a>`))
                .join(' ')}</span> · `
            : ''
        }${
          o.accounts && !o.accounts.current
            ? ''
            : `<a href="${B}/">${t(lang, 'Overview')}</a> <a href="${B}/inputs">${t(lang, 'Inputs')}</a> <a href="${B}/broadcasts">${t(lang, 'Broadcasts')}</a> <a href="${B}/reports">${t(lang, 'Reports')}</a>`
        }
<span class="right"><a href="?lang=${lang === 'fr' ? 'en' : 'fr'}">${lang === 'fr' ? 'English' : 'Français'}</a>${
          o.csrf
            ? ` <form method="post" action="${B}/logout" class="inline"><input type="hidden" name="_csrf" value="${esc(o.csrf)}"><button>${t(lang, 'Log out')}</button></form>`
            : ''
        }</span></nav>`;
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
${o.live?.on ? '<meta http-equiv="refresh" content="5">' : ''}<title>${esc(title)} · dmc-trigger</title><link rel="stylesheet" href="${B}/assets/console.css">${(o.scripts ?? []).map((s) => `<script src="${esc(s)}" defer></script>`).join('')}</head>
<body>${nav}<main><h1>${esc(title)}</h1>${live}
${body}</main></body></html>`;
}

/** A table: headers, then rows of already-escaped cells. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[], cls = ''): string {
  return `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

/** `{a: 1, b: 2}` as "a 1, b 2" (escaped). */
export const counts = (m: Readonly<Record<string, number>>, lang: Lang): string =>
  Object.entries(m)
    .map(([k, v]) => `${esc(t(lang, k))} <b>${v}</b>`)
    .join(', ') || esc(t(lang, 'none'));

/** A folder by its last name, the full path on hover (long paths wrapped over lines on the overview). */
export const folderName = (path: string): string => `<span title="${esc(path)}">${esc(path.replace(/\/+$/, '').split('/').pop() || path)}</span>`;
