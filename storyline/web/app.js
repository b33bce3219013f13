// storyline web UI: plain JS over the HTTP API; no external assets.
const $ = (sel, el = document) => el.querySelector(sel);
const esc = s => String(s ?? "").replace(/[&<>"']/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;","'":"&#39;"}[c]));
const main = $("#main");

// The token (when the server has tokens) is kept for this tab only and sent as a Bearer token with each request.
const TOKEN_KEY = "storyline-token";
// The reader's language (the header's selector, remembered in this browser; else the browser's own)
// goes with each request as Accept-Language: stories come back with a headline and places in it (``display``).
const LANG_KEY = "storyline-lang";
function readerLang() {
  try { return localStorage.getItem(LANG_KEY) || navigator.language.split("-")[0].toLowerCase(); } catch (e) { return "en"; }
}
async function api(path, opts = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  opts = {...opts, headers: {...(opts.headers || {}), "accept-language": readerLang()}};
  if (token) opts.headers.authorization = `Bearer ${token}`;
  const r = await fetch(path, opts);
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(typeof body.detail === "string" ? body.detail  // a 422 lists {field, problem}: say it in words
    : (Array.isArray(body.detail) ? body.detail.map(e => `${String(e.field || "").replace(/^(query|path)\./, "")}: ${e.problem}`).join("; ")
      : "") || `the server answered ${r.status}`);
  return body;
}
function badges(langs) { return (langs || []).map(l => `<span class="badge">${esc(l)}</span>`).join(""); }
function chips(items) { return (items || []).map(x => `<span class="chip">${esc(x)}</span>`).join("") || '<span class="muted">–</span>'; }
// Places come as ISO country codes ("KZ") or "City (CC)": shown by name in the reader's language
// (a story's ``display`` from the server; an article's signals by the browser's CLDR names), the code on hover.
function country(code) {
  try { return new Intl.DisplayNames([readerLang(), "en"], {type: "region"}).of(code) || code; } catch (e) { return code; }
}
function placeName(p) {
  const m = /^(.*) \(([A-Z]{2})\)$/.exec(p);
  if (m) return `${m[1]}, ${country(m[2])}`;
  return /^[A-Z]{2}$/.test(p) ? country(p) : p;
}
function placeChips(s) {
  const named = s.display ? s.display.places : (s.places || []).map(p => ({place: p, name: placeName(p)}));
  return named.map(p => `<span class="chip place" title="${esc(p.place)}">${esc(p.name)}</span>`).join("") || '<span class="muted">–</span>';
}
// A story's headline in the reader's language when a member has one, else its own, marked (after
// the link) with its language.
function headline(s) { return esc((s.display || s).headline || "(untitled)"); }
function langMark(s) {
  const d = s.display;
  return d && d.headline_lang && d.headline_lang !== d.lang
    ? ` <span class="badge in-lang" title="no article in ${esc(d.lang)}: the headline is in ${esc(d.headline_lang)}">${esc(d.headline_lang)}</span>` : "";
}
function languageName(code) {
  try { return new Intl.DisplayNames([code], {type: "language"}).of(code) || code; } catch (e) { return code; }
}
// The selector: the store's languages and the reader's own; a change is remembered and the page drawn again.
async function readerSelector() {
  const sel = $("#reader-lang");
  if (!sel || sel.dataset.ready) return;
  sel.dataset.ready = "1";
  let langs = [];
  try { langs = Object.keys((await api("/stats")).languages || {}).filter(l => /^[a-z]{2,3}$/.test(l)); } catch (e) {}
  const mine = readerLang();
  sel.innerHTML = [...new Set([mine, ...langs])].sort().map(l =>
    `<option value="${esc(l)}"${l === mine ? " selected" : ""}>${esc(languageName(l))} (${esc(l)})</option>`).join("");
  sel.addEventListener("change", () => { localStorage.setItem(LANG_KEY, sel.value); route(); });
}
function plural(n, word, many = word + "s") { return `${n} ${n === 1 ? word : many}`; }
// A bar's length (0..1) goes in data-fill; fill() sets it through the CSSOM, which the server's
// Content-Security-Policy allows (a style="" attribute it blocks). Any page may use <div class="bar" data-fill>.
function bar(share) { return `<div class="bar" data-fill="${Math.max(0, Math.min(1, share)).toFixed(3)}"><span></span></div>`; }
function fill(root = main) { root.querySelectorAll(".bar[data-fill]").forEach(b => b.style.setProperty("--fill", b.dataset.fill)); }
// The page's Atom feed, for feed readers that look in <head> (the top stories unless a page names its own).
function pageFeed(href = "/stories/top/feed.atom", title = "storyline: top stories") {
  const link = $("#page-feed");
  if (link) { link.href = href; link.title = title; }
  return href;
}
function go(url) { history.pushState({}, "", url); route(); }

document.addEventListener("click", e => {
  const a = e.target.closest("a");
  if (a && a.origin === location.origin && !a.target && (a.pathname === "/" || a.pathname.startsWith("/ui/"))) {
    e.preventDefault(); go(a.pathname + a.search);
  }
});
window.addEventListener("popstate", route);

async function health() {
  try { const h = await api("/health"); $("#health").textContent = `${plural(h.articles, "article")} · ${plural(h.stories, "story", "stories")}`; } catch (e) {}
}

async function storiesPage() {
  const params = new URLSearchParams(location.search);
  const data = await api("/stories?" + params.toString());
  const filtered = ["q", "entity", "lang", "since", "until"].some(k => params.get(k));
  main.innerHTML = `
    <h1>Stories</h1>
    <form class="filters" id="filters">
      <input name="q" placeholder="Search headlines" value="${esc(params.get("q") || "")}">
      <input name="entity" placeholder="Person, organisation or place" value="${esc(params.get("entity") || "")}">
      <input name="lang" placeholder="Language (e.g. de)" size="8" value="${esc(params.get("lang") || "")}">
      <button>Filter</button>
    </form>
    ${data.total ? `<p class="muted">${plural(data.total, "story", "stories")}${filtered ? " match these filters" : ""}, newest first</p>` : ""}
    <div id="list">${data.stories.map(s => `
      <div class="card story" data-story="${esc(s.id)}">
        <a class="title" href="/ui/story/${encodeURIComponent(s.id)}">${headline(s)}</a>${langMark(s)}
        <div class="meta">
          <span>${badges(s.languages)}</span>
          <span class="count">${plural(s.article_ids.length, "article")}</span>
          <span>first seen ${esc(s.first_seen || "unknown")}</span>
          <span>last seen ${esc(s.last_seen || "unknown")}</span>
          <span>${esc((s.people || []).slice(0, 3).join(", "))}</span>
        </div>
      </div>`).join("") || (filtered ? '<p class="muted" id="empty">No stories match these filters. <a href="/ui/stories">Show all stories</a>.</p>'
        : '<p class="muted" id="empty">No stories yet. <a href="/ui/add">Add articles</a>.</p>')}
    </div>`;
  $("#filters").addEventListener("submit", e => {
    e.preventDefault();
    const q = new URLSearchParams([...new FormData(e.target)].filter(([, v]) => v));
    go("/ui/stories?" + q.toString());
  });
}

// Now: the top stories of a window, each with the counts that rank it.
async function nowPage() {
  const params = new URLSearchParams(location.search);
  const data = await api("/stories/top?" + params.toString());
  const w = data.window;
  const none = data.stories.length ? "" : (await api("/health")).articles
    ? '<p class="muted" id="empty">No articles in this window. <a href="/ui/stories">All stories</a>.</p>'
    : '<p class="muted" id="empty">No stories yet. <a href="/ui/add">Add articles</a>.</p>';
  main.innerHTML = `
    <h1>Now</h1>
    <form class="filters" id="now-filters">
      <select name="hours" aria-label="window">${[24, 72, 168, 720].map(h => `<option value="${h}"${String(h) === (params.get("hours") || "24") ? " selected" : ""}>last ${h < 48 ? "day" : h / 24 + " days"}</option>`).join("")}</select>
      <input name="lang" placeholder="Language (e.g. de)" size="8" value="${esc(params.get("lang") || "")}">
      <button>Show</button>
    </form>
    <p class="muted" id="now-window">${esc(w.since)} – ${esc(w.until)}, ranked by sources, languages, articles and growth against the ${plural(w.days, "day")} before
      · <a id="now-feed" href="${esc(pageFeed("/stories/top/feed.atom" + (params.toString() ? "?" + params.toString() : "")))}">Atom feed</a></p>
    <ol class="top" id="top-list">${data.stories.map(r => `
      <li class="card story top-story">
        <a class="title" href="/ui/story/${encodeURIComponent(r.story.id)}">${headline(r.story)}</a>${langMark(r.story)}
        <div class="meta"><span>${badges(r.story.languages)}</span>
          <span class="why">${esc(r.why)}</span>
          <span class="${r.growth > 0 ? "up" : "flat"}">${r.growth > 0 ? "▲" : "–"} ${r.growth > 0 ? "+" : ""}${r.growth}</span></div>
      </li>`).join("")}</ol>
    ${none}`;
  $("#now-filters").addEventListener("submit", e => {
    e.preventDefault();
    go("/?" + new URLSearchParams([...new FormData(e.target)].filter(([, v]) => v)).toString());
  });
}

async function storyPage(id) {
  const s = await api("/stories/" + encodeURIComponent(id));
  if (s.requested) history.replaceState({}, "", "/ui/story/" + encodeURIComponent(s.id));
  const byLang = {};
  const folded = {};
  for (const t of s.timeline) {
    if (t.duplicate_of) (folded[t.duplicate_of] = folded[t.duplicate_of] || []).push(t);
    else (byLang[t.lang || "??"] = byLang[t.lang || "??"] || []).push(t);
  }
  const short = x => x.length > 60 ? x.slice(0, 59) + "…" : x;
  const article = t => {
    const other = s.timeline.find(o => o.id !== t.id && !o.duplicate_of) || s.timeline.find(o => o.id !== t.id);
    return `<div class="article"><a class="title" href="/ui/article/${encodeURIComponent(t.id)}">${esc(t.title || t.id)}</a>
    <div class="meta"><span>${esc(t.id)}</span><span>${esc(t.date || "date unknown")}</span><span>${esc(t.source || "")}</span>
    ${other ? `<a class="compare" href="/ui/compare?a=${encodeURIComponent(t.id)}&b=${encodeURIComponent(other.id)}">compare with “${esc(short(other.title || other.id))}”</a>` : ""}</div>
    ${(folded[t.id] || []).map(f => `<div class="folded">↳ ${esc((f.lang || "").toUpperCase())} translation/duplicate:
      <a href="/ui/article/${encodeURIComponent(f.id)}">${esc(f.title || f.id)}</a> (${esc(f.id)})</div>`).join("")}
  </div>`;
  };
  const SHOWN = 8;  // a long story folds each language's list after this many
  main.innerHTML = `
    ${s.requested ? `<div class="msg merged">Story ${esc(s.requested)} was merged into this one; its old address leads here.</div>` : ""}
    <h1>${headline(s)}${langMark(s)}</h1>
    <div class="meta">${badges(s.languages)} <span>${plural(s.article_ids.length, "article")}</span>
      <span>first seen ${esc(s.first_seen || "?")}, last seen ${esc(s.last_seen || "?")}</span>
      <span>${plural((s.sources || []).length, "source")}</span>
      <a id="story-feed" href="${esc(pageFeed(`/stories/${encodeURIComponent(s.id)}/feed.atom`, `storyline: ${(s.display || s).headline || s.id}`))}">Atom feed of its articles</a></div>
    <h2>Articles per day</h2>
    ${lifeChart(s.timeline)}
    <div class="grid2">
      <div>
        <h2>Articles by language</h2>
        ${Object.entries(byLang).map(([lang, arts]) => `
          <div class="card lang-group"><h3>${esc(lang)} (${arts.length})</h3>
            ${arts.slice(0, SHOWN).map(article).join("")}
            ${arts.length > SHOWN ? `<details><summary>${arts.length - SHOWN} more in ${esc(lang)}</summary>${arts.slice(SHOWN).map(article).join("")}</details>` : ""}
          </div>`).join("")}
      </div>
      <div>
        <h2>Related stories</h2>
        <div class="related">${(s.related || []).map(r => `<div class="card rel">
          <a class="title" href="/ui/story/${encodeURIComponent(r.story)}">${esc(r.headline || r.story)}</a>
          <div class="meta">${badges(r.languages)} <span>${plural(r.size, "article")}</span><span>${esc(r.first_seen || "?")} – ${esc(r.last_seen || "?")}</span></div>
          <div class="evidence">${esc(r.evidence)}</div></div>`).join("") || '<span class="muted">none found: no story with the same actors and another event</span>'}</div>
        <h2>People</h2><div>${chips(s.people)}</div>
        <h2>Organisations</h2><div>${chips(s.orgs)}</div>
        <h2>Places</h2><div>${placeChips(s)}</div>
        <h2>Sources</h2><div>${chips(s.sources)}</div>
        ${(s.aliases || []).length ? `<h2>Merged from</h2><div>${chips(s.aliases)}</div>` : ""}
      </div>
    </div>`;
}

// The reader view: an article as storyline read it (cleaned paragraphs), its signals, its source.
async function articlePage(id) {
  const a = await api("/articles/" + encodeURIComponent(id));
  const by = {};
  for (const sg of a.signals || []) (by[sg.type] = by[sg.type] || []).push(sg);
  const signalChips = (type, name) => by[type] ? `<h2>${name}</h2><div>${by[type].map(sg => `<span class="chip" title="${esc(
    `${sg.key}: ${(sg.forms || []).join(", ")}`)}">${esc(type === "place" ? placeName(sg.label) : sg.label)}</span>`).join("")}</div>` : "";
  const paragraphs = (a.paragraphs && a.paragraphs.length ? a.paragraphs : (a.text || "").split(/\n\s*\n/)).filter(p => p.trim());
  main.innerHTML = `
    <article class="reader">
      <h1>${esc(a.title || a.id)}</h1>
      <div class="meta">${badges([a.lang])}<span>${esc(a.id)}</span>
        <span>published ${esc(a.published || "unknown")}</span><span>event date ${esc(a.event_date || "unknown")}</span>
        ${a.source ? `<span>${esc(a.source)}</span>` : ""}
        ${a.story_id ? `<a href="/ui/story/${encodeURIComponent(a.story_id)}">its story</a>` : ""}
        ${/^https?:\/\//.test(a.url || "") ? `<a class="source" href="${esc(a.url)}" rel="noreferrer noopener" target="_blank">read at the source</a>` : ""}</div>
      <div class="grid2 reader-grid">
        <div class="card text">${paragraphs.map(p => `<p>${esc(p)}</p>`).join("")}</div>
        <div>${signalChips("person", "People")}${signalChips("org", "Organisations")}${signalChips("place", "Places")}${signalChips("date", "Dates")}
          ${Object.keys(by).length ? "" : '<p class="muted">No people, organisations, places or dates found.</p>'}</div>
      </div>
    </article>`;
}

// Articles per day of publication (else of the event; per week past 120 days) by language, as
// stacked bars in an inline SVG; undated articles in a bar of their own, apart at the right.
const PALETTE = ["#2f5bd3", "#d9822b", "#1f8a4c", "#b23a8f", "#5b6f8a", "#c2412d", "#0f8b8d", "#8a6d1f"];
function lifeChart(timeline) {
  const dated = timeline.filter(t => t.published || t.date), undated = timeline.filter(t => !(t.published || t.date));
  if (!timeline.length) return '<p class="muted">no articles</p>';
  const day = t => Math.floor(Date.parse((t.published || t.date).slice(0, 10) + "T00:00:00Z") / 864e5);
  const first = dated.length ? Math.min(...dated.map(day)) : 0, last = dated.length ? Math.max(...dated.map(day)) : -1;
  const step = last - first >= 120 ? 7 : 1, n = dated.length ? Math.floor((last - first) / step) + 1 : 0;
  const langs = [...new Set(timeline.map(t => t.lang || "??"))].sort();
  const zero = () => Object.fromEntries(langs.map(l => [l, 0]));
  const counts = Array.from({length: n}, zero), apart = zero();
  for (const t of dated) counts[Math.floor((day(t) - first) / step)][t.lang || "??"]++;
  for (const t of undated) apart[t.lang || "??"]++;
  const total = c => langs.reduce((a, l) => a + c[l], 0);
  const top = Math.max(...counts.map(total), total(apart));
  const W = 640, H = 120, bw = Math.max(2, Math.min(40, (W - 80) / Math.max(n, 1) - 2)), x0 = 30;
  const iso = k => new Date((first + k * step) * 864e5).toISOString().slice(0, 10);
  const stack = (c, x, label) => {
    let y = H, out = "";
    for (const [i, l] of langs.entries()) {
      if (!c[l]) continue;
      const h = c[l] / top * (H - 10);
      y -= h;
      out += `<rect x="${x}" y="${y.toFixed(1)}" width="${bw}" height="${h.toFixed(1)}" fill="${PALETTE[i % PALETTE.length]}"><title>${label}: ${c[l]} ${esc(l)}</title></rect>`;
    }
    return out;
  };
  let bars = counts.map((c, k) => stack(c, x0 + k * (bw + 2), iso(k) + (step > 1 ? " (week)" : ""))).join("");
  let end = x0 + n * (bw + 2) - 2;
  if (undated.length) {  // a dashed line, then the undated bar
    const sep = n ? Math.max(end, n > 1 ? x0 + 150 : x0 + 70) + 12 : x0 - 4, ux = sep + 10;  // clear of the date labels
    bars += `${n ? `<line class="undated" x1="${sep}" y1="0" x2="${sep}" y2="${H}"/>` : ""}${stack(apart, ux, "undated")}
      <text x="${ux}" y="${H + 16}" class="axis">undated</text>`;
    end = ux + Math.max(bw, 48);
  }
  const width = Math.max(W, end);
  return `<div class="card life"><svg class="life-chart" role="img" aria-label="articles per ${step > 1 ? "week" : "day"} by language"
      width="${width}" height="${H + 22}" viewBox="0 0 ${width} ${H + 22}">
    <text x="0" y="12" class="axis">${top}</text><line x1="${x0 - 4}" y1="${H}" x2="${end}" y2="${H}" stroke="#c7d0ea"/>
    ${bars}
    ${n ? `<text x="${x0}" y="${H + 16}" class="axis">${iso(0)}</text>` : ""}
    ${n > 1 ? `<text x="${Math.max(x0 + n * (bw + 2) - 2, x0 + 150)}" y="${H + 16}" text-anchor="end" class="axis">${iso(n - 1)}</text>` : ""}
  </svg>
  <div class="legend">${langs.map((l, i) => `<span><svg width="10" height="10" aria-hidden="true"><rect width="10" height="10" rx="2" fill="${PALETTE[i % PALETTE.length]}"/></svg>${esc(l)}</span>`).join("")}
    <span class="muted">per ${step > 1 ? "week" : "day"}${undated.length ? `; ${plural(undated.length, "undated article")} apart, at the right` : ""}</span></div></div>`;
}

// Marks the names and numbers of `text` that `other` has too; matched on the raw text and escaped
// piece by piece, so an entity such as &#39; is never split by a mark.
function highlight(text, other) {
  const re = /\p{Lu}[\p{L}-]{2,}|\d[\d.,]*/gu;
  const words = new Set((other.match(re) || []).map(w => w.toLowerCase()));
  let out = "", last = 0;
  for (const m of text.matchAll(re)) {
    out += esc(text.slice(last, m.index)) + (words.has(m[0].toLowerCase()) ? `<mark>${esc(m[0])}</mark>` : esc(m[0]));
    last = m.index + m[0].length;
  }
  return out + esc(text.slice(last));
}

async function comparePage() {
  const params = new URLSearchParams(location.search);
  const a = params.get("a") || "", b = params.get("b") || "";
  main.innerHTML = `
    <h1>Compare two articles</h1>
    <form class="filters" id="cmp">
      <input name="a" placeholder="article id" value="${esc(a)}" size="28">
      <input name="b" placeholder="article id" value="${esc(b)}" size="28">
      <button>Compare</button>
    </form><div id="result"></div>`;
  $("#cmp").addEventListener("submit", e => {
    e.preventDefault();
    const f = new FormData(e.target);
    go(`/ui/compare?a=${encodeURIComponent(f.get("a"))}&b=${encodeURIComponent(f.get("b"))}`);
  });
  if (!a || !b) return;
  const out = $("#result");
  out.innerHTML = '<p class="muted">Scoring…</p>';
  try {
    const r = await api("/compare", {method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify({a, b})});
    const ev = r.evidence;
    out.innerHTML = `
      <div class="card">
        <div class="relation rel-${r.relation.replace(/ /g, "-")}" id="relation">${esc(r.relation)}</div>
        <div class="meta"><span>${badges(ev.languages)}</span><span>cosine ${ev.cosine.toFixed(3)}</span>
          <span>sentence coverage ${(ev.coverage * 100).toFixed(0)}%</span>
          ${ev.notice ? `<span>notice page ${(ev.notice * 100).toFixed(0)}% (cookie wall, captcha or paywall)</span>` : ""}
          <span>event dates ${esc(ev.event_dates[0] || "?")} / ${esc(ev.event_dates[1] || "?")}${ev.date_gap_days != null ? ` (gap ${ev.date_gap_days} d)` : ""}</span></div>
        <h2>Scores <span class="muted">(1 = very similar … 4 = very dissimilar)</span></h2>
        <div class="scores">${Object.entries(r.scores).map(([k, v]) => `
          <span>${esc(k)}</span>${bar((4 - v) / 3)}<b>${v.toFixed(2)}</b>`).join("")}</div>
      </div>
      <div class="grid2">
        <div class="card"><h2>Shared</h2>
          <div>People: ${chips(ev.shared_people)}</div><div>Organisations: ${chips(ev.shared_orgs)}</div><div>Places: ${placeChips({places: ev.shared_places})}</div></div>
        <div class="card"><h2>Differing</h2>
          <div>Only in ${esc(r.a)}: ${chips(ev.only_a.slice(0, 10))}</div><div>Only in ${esc(r.b)}: ${chips(ev.only_b.slice(0, 10))}</div></div>
      </div>
      <div class="card"><h2>Aligned sentences</h2>
        <table class="align">${ev.aligned.map(x => `<tr><td>${highlight(x.a, x.b)}</td><td class="sim">${x.similarity.toFixed(2)}</td><td>${highlight(x.b, x.a)}</td></tr>`).join("") || '<tr><td class="muted">No sentence pairs above 0.5</td></tr>'}</table>
      </div>`;
  } catch (err) { out.innerHTML = `<div class="msg err">${esc(err.message)}</div>`; }
}

const TOKEN_FORM = `<form class="filters" id="token-form"><label>Write token <input type="password" id="token" autocomplete="off"
  placeholder="only if the server sets STORYLINE_TOKEN" size="36"></label></form>`;
function tokenField() {
  $("#token").value = sessionStorage.getItem(TOKEN_KEY) || "";
  $("#token").addEventListener("input", e => e.target.value ? sessionStorage.setItem(TOKEN_KEY, e.target.value) : sessionStorage.removeItem(TOKEN_KEY));
  $("#token-form").addEventListener("submit", e => e.preventDefault());
}
const postJSON = (path, body) => api(path, {method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify(body)});

function addPage() {
  main.innerHTML = `
    <h1>Add articles</h1>
    <div class="grid2">
      <form class="card" id="upload"><h2>Upload files</h2>
        <p class="muted">.txt, .html, .json, .jsonl or .csv — several at once.</p>
        <input type="file" name="files" id="files" multiple><p><button>Upload</button></p></form>
      <form class="card" id="paste"><h2>Paste an article</h2>
        <p><input name="title" placeholder="Title" class="wide"></p>
        <p><textarea name="text" placeholder="Article text" required></textarea></p>
        <p><input name="lang" placeholder="Language (optional)" size="10"> <input name="published" placeholder="Published YYYY-MM-DD" size="20"></p>
        <button>Add</button></form>
    </div>
    <form class="card" id="urls"><h2>Fetch pages</h2>
      <p class="muted">One URL a line; each page is fetched (robots.txt obeyed) and added.</p>
      <p><textarea name="urls" id="url-list" placeholder="https://…" class="short" required></textarea></p>
      <button>Fetch and add</button></form>
    ${TOKEN_FORM}
    <div id="added"></div>`;
  tokenField();
  const show = r => {
    $("#added").innerHTML = `<div class="msg" id="added-msg">Added ${r.articles.length}, unchanged ${r.unchanged}, skipped ${r.skipped.length}.</div>` +
      r.articles.map(x => `<div>${esc(x.id)} → <a href="/ui/story/${encodeURIComponent(x.story_id)}">${x.new_story ? "new story" : "joined story"} ${esc(x.story_id)}</a></div>`).join("") +
      r.skipped.map(s => `<div class="msg err">${esc(s)}</div>`).join("");
    health();
  };
  const fail = err => { $("#added").innerHTML = `<div class="msg err">${esc(err.message)}</div>`; };
  $("#upload").addEventListener("submit", async e => {
    e.preventDefault();
    $("#added").innerHTML = '<p class="muted">Reading and clustering…</p>';
    const fd = new FormData();
    for (const f of $("#files").files) fd.append("files", f);
    try { show(await api("/files", {method: "POST", body: fd})); } catch (err) { fail(err); }
  });
  $("#paste").addEventListener("submit", async e => {
    e.preventDefault();
    const body = Object.fromEntries([...new FormData(e.target)].filter(([, v]) => v));
    try { show(await postJSON("/articles", body)); } catch (err) { fail(err); }
  });
  $("#urls").addEventListener("submit", async e => {
    e.preventDefault();
    $("#added").innerHTML = '<p class="muted">Fetching, reading and clustering…</p>';
    const urls = $("#url-list").value.split("\n").map(u => u.trim()).filter(Boolean);
    try { show(await postJSON("/urls", {urls})); } catch (err) { fail(err); }
  });
}

async function feedsPage() {
  const data = await api("/feeds");
  const state = f => f.errors ? `<span class="rel-unrelated">failing (${f.errors} in a row)</span>`
    : f.last_success ? '<span class="rel-same-story">ok</span>' : '<span class="muted">not polled yet</span>';
  main.innerHTML = `
    <h1>Feeds</h1>
    <p class="muted">${plural(data.feeds.length, "feed")}; ${data.watching ? "this server polls them" : "polled by <code>storyline watch</code> (or <code>serve --watch</code>)"}.</p>
    <table class="feeds" id="feed-table"><tr><th>Feed</th><th>Health</th><th>Last success</th><th>Last error</th><th>Articles added</th><th>Every</th></tr>
      ${data.feeds.map(f => `<tr class="feed"><td><a href="${esc(f.url)}" rel="noreferrer noopener" target="_blank">${esc(f.title || f.url)}</a>
        <div class="muted">${esc(f.kind || "")} · ${esc(f.url)}</div></td><td>${state(f)}</td><td>${esc(f.last_success || "–")}</td>
        <td>${esc(f.last_error || "–")}</td><td class="num">${f.articles}</td><td class="num">${f.interval_s} s</td></tr>`).join("")}
    </table>
    <form class="card" id="feed-form"><h2>Add a feed</h2>
      <p class="muted">An RSS, Atom or JSON feed, a news sitemap, or a site's home page (its feeds are found).</p>
      <p><input name="url" id="feed-url" placeholder="https://…" size="60" required>
         <input name="interval_s" type="number" min="10" placeholder="every … s" size="10"> <button>Add</button></p></form>
    ${TOKEN_FORM}
    <div id="feed-msg"></div>`;
  tokenField();
  $("#feed-form").addEventListener("submit", async e => {
    e.preventDefault();
    const body = Object.fromEntries([...new FormData(e.target)].filter(([, v]) => v));
    if (body.interval_s) body.interval_s = Number(body.interval_s);
    try {
      const r = await postJSON("/feeds", body);
      await feedsPage();
      $("#feed-msg").innerHTML = `<div class="msg" id="feed-added">Registered ${r.feeds.map(f => esc(f.url)).join(", ")}.</div>`;
    } catch (err) { $("#feed-msg").innerHTML = `<div class="msg err">${esc(err.message)}</div>`; }
  });
}

// Watchlists: saved queries that alert; each one's page lists the stories matching it now and its alerts.
function criteria(w) {
  return [...w.entities.map(e => `<span class="chip">${esc(e)}</span>`), w.query ? `<span class="chip">“${esc(w.query)}”</span>` : "",
    w.langs.length ? badges(w.langs) : "", w.min_sources ? `<span>≥ ${plural(w.min_sources, "source")}</span>` : "",
    w.min_languages ? `<span>≥ ${plural(w.min_languages, "language")}</span>` : ""].join(" ");
}

async function watchlistsPage() {
  const data = await api("/watchlists");
  main.innerHTML = `
    <h1>Watchlists</h1>
    <div id="watchlist-list">${data.watchlists.map(w => `
      <div class="card watchlist"><a class="title" href="/ui/watchlists/${encodeURIComponent(w.name)}">${esc(w.name)}</a>
        <div class="meta">${criteria(w)}${w.webhook ? `<span>→ ${esc(w.webhook)}</span>` : ""}</div></div>`).join("")
      || '<p class="muted">No watchlists yet.</p>'}</div>
    <form class="card" id="watchlist-form"><h2>New watchlist</h2>
      <p class="muted">Every criterion given must hold. Names are folded across scripts and spellings (Tokajew, Токаев, Tokayev).</p>
      <p class="fields"><input name="name" id="wl-name" placeholder="Name" required size="16">
        <input name="entities" id="wl-entities" placeholder="People, organisations, places (comma-separated)" size="40">
        <input name="query" placeholder="Words in the headline" size="20"></p>
      <p class="fields"><input name="langs" placeholder="Languages (e.g. de, ru)" size="18">
        <input name="min_sources" type="number" min="0" placeholder="min sources" size="10">
        <input name="webhook" placeholder="Webhook URL (optional)" size="30">
        <input name="secret" type="password" placeholder="Webhook secret" size="16" autocomplete="off"></p>
      <button>Save</button></form>
    ${TOKEN_FORM}
    <div id="watchlist-msg"></div>`;
  tokenField();
  $("#watchlist-form").addEventListener("submit", async e => {
    e.preventDefault();
    const f = Object.fromEntries([...new FormData(e.target)].filter(([, v]) => v));
    const list = v => (v || "").split(",").map(x => x.trim()).filter(Boolean);
    const body = {...f, entities: list(f.entities), langs: list(f.langs), min_sources: Number(f.min_sources || 0)};
    try {
      await postJSON("/watchlists", body);
      await watchlistsPage();
      $("#watchlist-msg").innerHTML = `<div class="msg" id="watchlist-added">Saved ${esc(body.name)}.</div>`;
    } catch (err) { $("#watchlist-msg").innerHTML = `<div class="msg err">${esc(err.message)}</div>`; }
  });
}

async function watchlistPage(name) {
  const data = await api("/watchlists/" + encodeURIComponent(name));
  const w = data.watchlist;
  const feed = pageFeed(`/watchlists/${encodeURIComponent(name)}/feed.atom`, `storyline: ${name}`);
  main.innerHTML = `
    <h1>${esc(w.name)}</h1>
    <div class="meta">${criteria(w)}${w.webhook ? `<span>→ ${esc(w.webhook)}</span>` : ""}<a href="${feed}">Atom feed</a></div>
    <div class="grid2">
      <div><h2>Alerts</h2><div id="alert-list">${data.alerts.map(a => `
        <div class="card alert"><a class="title" href="/ui/story/${encodeURIComponent(a.story_id)}">${esc(a.headline || a.story_id)}</a>
          <div class="meta"><span>${esc(a.created.slice(0, 16).replace("T", " "))}</span>${badges(a.languages)}
            <span>${plural(a.article_ids.length, "new article")}</span><span class="state state-${esc(a.state)}">${esc(a.state)}${a.attempts ? ` after ${plural(a.attempts, "attempt")}` : ""}</span></div>
          ${a.last_error ? `<div class="evidence">${esc(a.last_error)}</div>` : ""}</div>`).join("")
        || '<p class="muted">No alerts yet: one comes when a story starts to match.</p>'}</div></div>
      <div><h2>Matching now</h2><div id="matching">${data.matching.map(m => `
        <div class="card story"><a class="title" href="/ui/story/${encodeURIComponent(m.story.id)}">${esc(m.story.headline || "(untitled)")}</a>
          <div class="meta">${badges(m.story.languages)}<span>${plural(m.story.article_ids.length, "article")}</span>
            <span>last seen ${esc(m.story.last_seen || "?")}</span></div></div>`).join("")
        || '<p class="muted">No story matches now.</p>'}</div></div>
    </div>`;
}

async function route() {
  const p = location.pathname;
  document.querySelectorAll("[data-nav]").forEach(a => a.classList.toggle("active",
    a.pathname === p || (a.pathname === "/ui/stories" && (p.startsWith("/ui/story/") || p.startsWith("/ui/article")))
    || (a.pathname === "/ui/watchlists" && p.startsWith("/ui/watchlists/"))));
  pageFeed();
  try {
    if (p.startsWith("/ui/story/")) await storyPage(decodeURIComponent(p.slice(10)));
    else if (p.startsWith("/ui/article/")) await articlePage(decodeURIComponent(p.slice(12)));
    else if (p.startsWith("/ui/compare")) await comparePage();
    else if (p.startsWith("/ui/add")) addPage();
    else if (p.startsWith("/ui/feeds")) await feedsPage();
    else if (p.startsWith("/ui/stories")) await storiesPage();
    else if (p.startsWith("/ui/watchlists/")) await watchlistPage(decodeURIComponent(p.slice(15)));
    else if (p.startsWith("/ui/watchlists")) await watchlistsPage();
    else await nowPage();
  } catch (err) { main.innerHTML = `<div class="msg err">${esc(err.message)}</div>`; }
  fill();
  health();
  readerSelector();
}
route();
