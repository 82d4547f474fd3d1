// A small Markdown renderer that builds DOM nodes, for the postmortem bundle. It knows the
// blocks a report uses (headings, paragraphs, lists, tables, code, quotes, rules) and inline
// code, bold, italics and links. Raw HTML in the source stays text: nothing is parsed as HTML.
"use strict";

(function () {
  const { h } = TH;

  /** Inline Markdown of one line or paragraph as nodes. */
  function inline(text) {
    const out = [];
    const pattern = /(`+)([\s\S]*?)\1|\*\*([\s\S]+?)\*\*|__([\s\S]+?)__|\*([^*\s][^*]*?)\*|\[([^\]]+)\]\(([^)\s]+)\)/g;
    let at = 0;
    let m;
    while ((m = pattern.exec(text))) {
      if (m.index > at) out.push(text.slice(at, m.index));
      if (m[1]) out.push(h("code", { text: m[2] }));
      else if (m[3] !== undefined || m[4] !== undefined) out.push(h("strong", {}, inline(m[3] !== undefined ? m[3] : m[4])));
      else if (m[5] !== undefined) out.push(h("em", {}, inline(m[5])));
      else if (m[6] !== undefined) out.push(safeLink(m[6], m[7]));
      at = pattern.lastIndex;
    }
    if (at < text.length) out.push(text.slice(at));
    return out;
  }

  /** A link only to this server or to http(s); anything else (javascript:, data:) stays text. */
  function safeLink(label, href) {
    if (/^(https?:\/\/|\/(?!\/)|#)/i.test(href)) return h("a", { href }, inline(label));
    return label + " (" + href + ")";
  }

  function isTableSep(line) {
    return /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/.test(line);
  }

  function cells(line) {
    let t = line.trim();
    if (t.startsWith("|")) t = t.slice(1);
    if (t.endsWith("|") && !t.endsWith("\\|")) t = t.slice(0, -1);
    return t.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|"));
  }

  /** The Markdown document as a fragment. */
  function render(source) {
    const lines = String(source).replace(/\r\n?/g, "\n").split("\n");
    const root = h("div", { class: "markdown" });
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      if (!line.trim()) {
        i++;
        continue;
      }
      const fence = /^\s*(```|~~~)(.*)$/.exec(line);
      if (fence) {
        const body = [];
        i++;
        while (i < lines.length && !lines[i].trim().startsWith(fence[1])) body.push(lines[i++]);
        i++;
        root.appendChild(TH.longText(body.join("\n"), { limit: 4000, class: "code" }));
        continue;
      }
      const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
      if (heading) {
        root.appendChild(h("h" + Math.min(6, heading[1].length + 1), {}, inline(heading[2])));
        i++;
        continue;
      }
      if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
        root.appendChild(h("hr"));
        i++;
        continue;
      }
      if (line.includes("|") && i + 1 < lines.length && isTableSep(lines[i + 1])) {
        const head = cells(line);
        i += 2;
        const rows = [];
        while (i < lines.length && lines[i].includes("|") && lines[i].trim()) rows.push(cells(lines[i++]));
        root.appendChild(h("div", { class: "table-wrap" }, h("table", { class: "list" },
          h("thead", {}, h("tr", {}, head.map((c) => h("th", {}, inline(c))))),
          h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, inline(c)))))))));
        continue;
      }
      if (/^\s*>/.test(line)) {
        const body = [];
        while (i < lines.length && /^\s*>/.test(lines[i])) body.push(lines[i++].replace(/^\s*>\s?/, ""));
        root.appendChild(h("blockquote", {}, render(body.join("\n"))));
        continue;
      }
      const item = /^(\s*)([-*+]|\d+[.)])\s+(.*)$/;
      if (item.test(line)) {
        const ordered = /\d/.test(item.exec(line)[2]);
        const list = h(ordered ? "ol" : "ul");
        while (i < lines.length && (item.test(lines[i]) || (/^\s{2,}\S/.test(lines[i]) && list.lastChild))) {
          const m = item.exec(lines[i]);
          if (m && m[1].length < 2) list.appendChild(h("li", {}, inline(m[3])));
          else if (list.lastChild) {
            // A nested or continued item stays inside its parent, as text on its own line.
            TH.append(list.lastChild, [h("br"), inline(lines[i].trim())]);
          }
          i++;
        }
        root.appendChild(list);
        continue;
      }
      const para = [];
      while (i < lines.length && lines[i].trim() && !/^(#{1,6}\s|\s*```|\s*~~~|\s*>|\s*([-*+]|\d+[.)])\s)/.test(lines[i])) {
        if (lines[i].includes("|") && i + 1 < lines.length && isTableSep(lines[i + 1])) break;
        para.push(lines[i++]);
      }
      if (!para.length) para.push(lines[i++]);
      root.appendChild(h("p", {}, inline(para.join("\n"))));
    }
    return root;
  }

  TH.markdown = { render, inline };
})();
