// Papertide's browser side: themes, stars, keyword highlighting and filtering, copy actions.
// Progressive enhancement only: every page works without it. No inline script anywhere (CSP).
(function () {
  "use strict";
  var doc = document, root = doc.documentElement;
  var K_THEME = "pt-theme", K_STARS = "pt-stars", K_KW = "pt-keywords", K_LANG = "pt-lang";

  function load(key, fallback) {
    try { var v = JSON.parse(localStorage.getItem(key)); return v == null ? fallback : v; } catch (e) { return fallback; }
  }
  function save(key, value) { try { localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* private mode */ } }
  function $$(sel, el) { return Array.prototype.slice.call((el || doc).querySelectorAll(sel)); }

  // --- theme: follows prefers-color-scheme until the toggle picks one.
  var theme = load(K_THEME, null);
  if (theme === "dark" || theme === "light") root.setAttribute("data-theme", theme);
  function isDark() {
    var t = root.getAttribute("data-theme");
    if (t) return t === "dark";
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  }
  function setupTheme() {
    $$(".theme-toggle").forEach(function (b) {
      b.setAttribute("aria-pressed", String(isDark()));
      b.addEventListener("click", function () {
        var next = isDark() ? "light" : "dark";
        root.setAttribute("data-theme", next);
        save(K_THEME, next);
        b.setAttribute("aria-pressed", String(next === "dark"));
      });
    });
  }

  // --- stars: [{id, title, authors, year, added}]
  function stars() { var s = load(K_STARS, []); return Array.isArray(s) ? s : []; }
  function isStarred(id) { return stars().some(function (s) { return s.id === id; }); }
  function paperData(article) {
    return { id: article.dataset.id, title: article.dataset.title || "", authors: article.dataset.authors || "", year: article.dataset.year || "" };
  }
  function toggleStar(article) {
    var d = paperData(article), list = stars(), i = list.findIndex(function (s) { return s.id === d.id; });
    if (i >= 0) list.splice(i, 1); else { d.added = new Date().toISOString(); list.push(d); }
    save(K_STARS, list);
    paintStars();
    $$("section.related[data-status=pending]").forEach(function (s) { setTimeout(function () { pollRelated(s, 60); }, 1500); });
  }
  function paintStars() {
    $$("article.paper").forEach(function (a) {
      var b = a.querySelector(".act-star"); if (!b) return;
      var on = isStarred(a.dataset.id);
      b.setAttribute("aria-pressed", String(on));
      b.textContent = on ? "★ Starred" : "☆ Star";
    });
    var n = stars().length;
    $$(".star-count").forEach(function (el) { el.textContent = n ? "(" + n + ")" : ""; });
  }

  // --- copy
  function bibtex(p) {
    var key = (p.authors.split(" and ")[0] || "arxiv").split(" ").pop().replace(/[^A-Za-z]/g, "") + (p.year || "") + "_" + p.id.replace(/[^0-9A-Za-z]/g, "");
    return "@misc{" + key + ",\n  title = {" + p.title + "},\n  author = {" + p.authors + "},\n  year = {" + p.year +
      "},\n  eprint = {" + p.id + "},\n  archivePrefix = {arXiv},\n  url = {https://arxiv.org/abs/" + p.id + "}\n}\n";
  }
  function copyText(text, button) {
    function done(ok) {
      var old = button.textContent; button.textContent = ok ? "Copied" : "Copy failed";
      setTimeout(function () { button.textContent = old; }, 1200);
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(fallbackCopy(text)); });
    } else done(fallbackCopy(text));
  }
  function fallbackCopy(text) {
    var t = doc.createElement("textarea"); t.value = text; doc.body.appendChild(t); t.select();
    var ok = false; try { ok = doc.execCommand("copy"); } catch (e) { ok = false; }
    doc.body.removeChild(t); return ok;
  }

  // --- keywords: {include: [], exclude: [], prefer: [], only: bool}
  function keywords() {
    var k = load(K_KW, {});
    function list(v) { return Array.isArray(v) ? v : []; }
    return { include: list(k.include), exclude: list(k.exclude), prefer: list(k.prefer), only: !!k.only };
  }
  function splitList(s) { return s.split(",").map(function (w) { return w.trim(); }).filter(Boolean); }
  function escapeRe(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }
  function unmark(el) {
    $$("mark.kw", el).forEach(function (m) { m.replaceWith(doc.createTextNode(m.textContent)); });
    el.normalize();
  }
  // Wraps matches in text nodes, never inside rendered math or existing marks.
  function highlight(el, re) {
    var walker = doc.createTreeWalker(el, NodeFilter.SHOW_TEXT, {
      acceptNode: function (n) { return n.parentNode.closest("math, mark, .math") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT; }
    });
    var nodes = [], n, hits = 0;
    while ((n = walker.nextNode())) nodes.push(n);
    nodes.forEach(function (node) {
      var text = node.nodeValue, last = 0, m, frag = null;
      re.lastIndex = 0;
      while ((m = re.exec(text))) {
        if (!m[0]) { re.lastIndex++; continue; }
        frag = frag || doc.createDocumentFragment();
        frag.appendChild(doc.createTextNode(text.slice(last, m.index)));
        var mark = doc.createElement("mark"); mark.className = "kw"; mark.textContent = m[0];
        frag.appendChild(mark); last = m.index + m[0].length; hits++;
      }
      if (frag) { frag.appendChild(doc.createTextNode(text.slice(last))); node.parentNode.replaceChild(frag, node); }
    });
    return hits;
  }
  function applyKeywords() {
    var kw = keywords(), papers = $$("article.paper");
    if (!papers.length) return;
    var inc = kw.include.length ? new RegExp("\\b(" + kw.include.map(escapeRe).join("|") + ")", "gi") : null;
    var exc = kw.exclude.length ? new RegExp("\\b(" + kw.exclude.map(escapeRe).join("|") + ")", "i") : null;
    var shown = 0, hidden = 0, matching = 0;
    papers.forEach(function (a) {
      var parts = $$(".title, .abstract", a), hits = 0;
      parts.forEach(function (p) { unmark(p); if (inc) hits += highlight(p, inc); });
      var text = parts.map(function (p) { return p.textContent; }).join(" ");
      var hide = (exc && exc.test(text)) || (kw.only && inc && hits === 0);
      if (hits) matching++;
      a.classList.toggle("hidden-kw", !!hide);
      if (hide) hidden++; else shown++;
    });
    var status = "";
    if (inc || exc) status = "· " + matching + " matching, " + shown + " of " + papers.length + " shown" + (hidden ? " (" + hidden + " hidden by keywords)" : "");
    $$(".kw-status").forEach(function (el) { el.textContent = status; });
  }
  function setupKeywords() {
    $$(".kw-form").forEach(function (form) {
      var kw = keywords();
      form.querySelector("#kw-include").value = kw.include.join(", ");
      form.querySelector("#kw-exclude").value = kw.exclude.join(", ");
      form.querySelector("#kw-prefer").value = kw.prefer.join(", ");
      form.querySelector("#kw-only").checked = kw.only;
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        save(K_KW, {
          include: splitList(form.querySelector("#kw-include").value),
          exclude: splitList(form.querySelector("#kw-exclude").value),
          prefer: splitList(form.querySelector("#kw-prefer").value),
          only: form.querySelector("#kw-only").checked
        });
        applyKeywords();
      });
    });
    applyKeywords();
  }

  // --- "For you": the order link and the prefer form carry the reader's stars and terms (from this browser
  // only, in the request that orders the page; the server keeps neither).
  function forYouUrl(base, typed) {
    var url = new URL(base, window.location.href), kw = keywords();
    var prefer = typed != null ? splitList(typed) : kw.prefer;
    var ids = stars().map(function (s) { return s.id; }).slice(-200);
    url.searchParams.set("order", "foryou");
    if (ids.length) url.searchParams.set("stars", ids.join(",")); else url.searchParams.delete("stars");
    if (prefer.length) url.searchParams.set("prefer", prefer.join(",")); else url.searchParams.delete("prefer");
    url.searchParams.delete("skip");
    return url.pathname + url.search;
  }
  function setupOrder() {
    $$("a.order-foryou").forEach(function (a) {
      a.addEventListener("click", function (e) {
        if (e.ctrlKey || e.metaKey || e.shiftKey || e.button) { a.href = forYouUrl(a.href); return; }
        e.preventDefault();
        window.location = forYouUrl(a.href);
      });
    });
    $$("form.prefer-form").forEach(function (form) {
      var input = form.querySelector("input[name=prefer]");
      if (input && !input.value) input.value = keywords().prefer.join(", ");
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var kw = load(K_KW, {}); kw.prefer = splitList(input.value); save(K_KW, kw);
        var params = new URLSearchParams();
        $$("input[type=hidden]", form).forEach(function (h) { if (h.name !== "stars" && h.name !== "prefer") params.set(h.name, h.value); });
        window.location = forYouUrl(form.getAttribute("action") + "?" + params.toString(), input.value);
      });
    });
  }

  // --- translation through the server's LLM (the buttons exist only when one is configured). The server
  // answers each translation as text and as HTML it rendered like its own titles (escaped, TeX as MathML).
  function trLang() {
    var input = doc.getElementById("tr-lang"), v = input && input.value.trim();
    return v || load(K_LANG, "Chinese");
  }
  function translateIds(ids, withAbstract) {
    return fetch("/api/translate", {
      method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ lang: trLang(), ids: ids, "abstract": !!withAbstract })
    }).then(function (r) {
      return r.json().then(function (d) { return r.ok ? d : Promise.reject(d.error || "HTTP " + r.status); },
        function () { return Promise.reject("HTTP " + r.status); });
    });
  }
  function showTranslation(article, t, langName) {
    if (t.title_html) {
      var head = article.querySelector(".paper-head"), box = article.querySelector(".tr-title");
      if (!box) { box = el("p", { "class": "translation tr-title" }); head.parentNode.insertBefore(box, head.nextSibling); }
      box.innerHTML = t.title_html; box.title = langName;
    }
    if (t.abstract_html) {
      var abs = article.querySelector(".abstract"), abox = article.querySelector(".tr-abstract");
      if (abs && !abox) { abox = el("div", { "class": "translation tr-abstract" }); abs.parentNode.insertBefore(abox, abs.nextSibling); }
      if (abox) { abox.innerHTML = t.abstract_html; abox.title = langName; }
    }
  }
  function clearTranslations(root) { $$(".translation", root).forEach(function (n) { n.remove(); }); }
  function setTrStatus(text) { $$(".translate-status").forEach(function (s) { s.textContent = text; }); }
  function translateTitles(button) {
    if (button.getAttribute("aria-pressed") === "true") {
      clearTranslations(doc); button.setAttribute("aria-pressed", "false"); setTrStatus(""); return;
    }
    var articles = $$("article.paper").filter(function (a) { return !a.classList.contains("hidden-kw"); });
    var byId = {}; articles.forEach(function (a) { byId[a.dataset.id] = a; });
    var ids = Object.keys(byId), chunks = [];
    for (var i = 0; i < ids.length; i += 50) chunks.push(ids.slice(i, i + 50));
    button.setAttribute("aria-pressed", "true"); button.disabled = true;
    setTrStatus("Translating " + ids.length + " titles…");
    var done = 0, lang = null;
    chunks.reduce(function (p, chunk) {
      return p.then(function () {
        return translateIds(chunk, false).then(function (d) {
          lang = d.lang;
          d.translations.forEach(function (t) { if (byId[t.id]) { showTranslation(byId[t.id], t, d.lang); if (t.title) done++; } });
        });
      });
    }, Promise.resolve()).then(function () {
      setTrStatus("Translated " + done + " titles into " + lang + ".");
    }, function (err) {
      setTrStatus("Translation stopped: " + err);
    }).then(function () { button.disabled = false; });
  }
  function translatePaper(button, article) {
    if (button.getAttribute("aria-pressed") === "true") {
      clearTranslations(article); button.setAttribute("aria-pressed", "false"); button.textContent = "Translate"; return;
    }
    button.disabled = true; button.textContent = "Translating…";
    translateIds([article.dataset.id], true).then(function (d) {
      (d.translations || []).forEach(function (t) { showTranslation(article, t, d.lang); });
      button.setAttribute("aria-pressed", "true"); button.textContent = "Original only";
    }, function (err) {
      button.textContent = "Translate";
      var note = article.querySelector(".tr-error") || el("p", { "class": "tr-error" });
      note.textContent = "Translation failed: " + err; article.appendChild(note);
    }).then(function () { button.disabled = false; });
  }
  function setupTranslate() {
    var input = doc.getElementById("tr-lang");
    if (input) {
      input.value = load(K_LANG, input.value);
      input.addEventListener("change", function () { if (input.value.trim()) save(K_LANG, input.value.trim()); });
    }
    $$("button.translate-titles").forEach(function (b) { b.addEventListener("click", function () { translateTitles(b); }); });
  }

  // --- the starred page: each star fetched from the JSON API and drawn with text nodes only.
  function el(tag, attrs, text) {
    var e = doc.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text != null) e.textContent = text;
    return e;
  }
  function renderStarred() {
    var box = doc.getElementById("starred-list"); if (!box) return;
    var list = stars();
    box.textContent = "";
    if (!list.length) { box.appendChild(el("p", { "class": "empty" }, "No starred papers yet. Star papers in a listing and they appear here.")); return; }
    list.forEach(function (s) {
      var art = el("article", { "class": "paper", "data-id": s.id, "data-title": s.title, "data-authors": s.authors, "data-year": s.year || "" });
      // A venue paper not (yet) linked to arXiv is starred by its key (`acl:2024.acl-long.12`): its page and
      // JSON live under /venue; a linked one is starred by its arXiv id, so both pages share the star.
      var venue = s.id.indexOf(":") > 0;
      var page = venue ? "/venue/paper/" + s.id : "/arxiv/" + s.id;
      var head = el("header", { "class": "paper-head" });
      head.appendChild(el("a", { "class": "arxiv-id", href: page }, s.id));
      var h = el("h3", { "class": "title" }); h.appendChild(el("a", { href: page }, s.title || s.id));
      head.appendChild(h); art.appendChild(head);
      var authors = el("p", { "class": "authors" }, s.authors.split(" and ").join(", ")); art.appendChild(authors);
      var abs = el("div", { "class": "abstract" }, "Loading…"); art.appendChild(abs);
      var actions = el("p", { "class": "actions" });
      if (!venue) {
        actions.appendChild(el("a", { href: "https://arxiv.org/pdf/" + s.id, rel: "noopener" }, "PDF"));
        actions.appendChild(el("a", { href: "https://arxiv.org/abs/" + s.id, rel: "noopener" }, "abs"));
      }
      actions.appendChild(el("button", { type: "button", "class": "act-copy", "data-copy": "link" }, "Copy"));
      actions.appendChild(el("button", { type: "button", "class": "act-copy", "data-copy": "bibtex" }, "BibTeX"));
      actions.appendChild(el("button", { type: "button", "class": "act-star", "aria-pressed": "true" }, "★ Starred"));
      art.appendChild(actions);
      box.appendChild(art);
      fetch((venue ? "/api/venue/paper/" : "/api/papers/") + s.id, { headers: { Accept: "application/json" } }).then(function (r) {
        return r.ok ? r.json() : Promise.reject(r.status);
      }).then(function (p) {
        h.firstChild.textContent = p.title;
        authors.textContent = (p.authors || []).join(", ");
        abs.textContent = p["abstract"] || "";
        art.dataset.title = p.title; art.dataset.authors = (p.authors || []).join(" and ");
      }, function () { abs.textContent = "Not available on this server right now."; });
    });
    paintStars();
    $$("section.related[data-status=pending]").forEach(function (s) { setTimeout(function () { pollRelated(s, 60); }, 1500); });
  }
  function download(name, type, text) {
    var a = el("a", { href: URL.createObjectURL(new Blob([text], { type: type })), download: name });
    doc.body.appendChild(a); a.click(); doc.body.removeChild(a);
  }
  function setupStarTools() {
    var status = doc.querySelector(".star-status");
    var exp = doc.getElementById("star-export"), bib = doc.getElementById("star-bibtex"), imp = doc.getElementById("star-import");
    if (exp) exp.addEventListener("click", function () { download("papertide-stars.json", "application/json", JSON.stringify(stars(), null, 2)); });
    if (bib) bib.addEventListener("click", function () { download("papertide-stars.bib", "application/x-bibtex", stars().map(bibtex).join("\n")); });
    if (imp) imp.addEventListener("change", function () {
      var f = imp.files && imp.files[0]; if (!f) return;
      f.text().then(function (t) {
        var data = JSON.parse(t), list = stars(), added = 0;
        if (!Array.isArray(data)) throw new Error("not a list");
        data.forEach(function (d) {
          var s = typeof d === "string" ? { id: d, title: "", authors: "", year: "" } : d;
          if (!s || typeof s.id !== "string" || !/^[A-Za-z0-9._:\/-]{4,240}$/.test(s.id) || list.some(function (x) { return x.id === s.id; })) return;
          list.push({ id: s.id, title: String(s.title || ""), authors: String(s.authors || ""), year: String(s.year || ""), added: String(s.added || new Date().toISOString()) });
          added++;
        });
        save(K_STARS, list); renderStarred();
        if (status) status.textContent = "Imported " + added + " new stars.";
      }).catch(function () { if (status) status.textContent = "That file is not a Papertide stars export."; });
    });
  }

  // --- related papers: the inline panel (listings, paper pages) and pending lists that update themselves.
  function relatedList(section, data) {
    var ol = section.querySelector("ol.related-list"), note = section.querySelector(".related-note");
    ol.textContent = "";
    (data.related || []).forEach(function (r) {
      var li = doc.createElement("li"), a = doc.createElement("a"), src = doc.createElement("span");
      a.href = "/arxiv/" + r.id; a.textContent = r.title;
      src.className = "related-src src-" + r.source; src.textContent = r.source;
      src.title = "found by " + r.source + ", score " + Number(r.score).toFixed(2);
      li.appendChild(a); li.appendChild(doc.createTextNode(" ")); li.appendChild(src);
      ol.appendChild(li);
    });
    var empty = section.querySelector(".empty"); if (empty) empty.hidden = (data.related || []).length > 0;
    if (note) { note.textContent = data.note || ""; note.hidden = !data.note; }
    section.dataset.status = data.status;
  }
  function pollRelated(section, tries) {
    fetch("/api/papers/" + section.dataset.id + "/related", { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        relatedList(section, data);
        if (data.status === "pending" && tries > 0) setTimeout(function () { pollRelated(section, tries - 1); }, 2000);
      })
      .catch(function () {
        var note = section.querySelector(".related-note");
        if (note) { note.textContent = "Related papers could not be loaded."; note.hidden = false; }
      });
  }
  function toggleRelated(link, article) {
    var id = link.dataset.id, section = doc.getElementById("related-" + id);
    if (section && section.classList.contains("inline")) {
      section.remove(); link.setAttribute("aria-expanded", "false"); return;
    }
    if (section) { section.scrollIntoView({ behavior: "smooth" }); return; }
    section = doc.createElement("section");
    section.className = "related inline"; section.id = "related-" + id; section.dataset.id = id;
    section.setAttribute("aria-live", "polite");
    var h = doc.createElement("h2"); h.textContent = "Related papers";
    var note = doc.createElement("p"); note.className = "related-note"; note.textContent = "Loading…";
    var ol = doc.createElement("ol"); ol.className = "related-list";
    section.appendChild(h); section.appendChild(note); section.appendChild(ol);
    article.appendChild(section);
    link.setAttribute("aria-expanded", "true");
    pollRelated(section, 60);
  }
  // A plain click on an inline action's link toggles its panel; modified clicks open the link as usual.
  function onInlineAction(selector, toggle) {
    doc.addEventListener("click", function (e) {
      var link = e.target.closest ? e.target.closest(selector) : null;
      var article = link && link.closest("article.paper");
      if (!link || !article || e.ctrlKey || e.metaKey || e.shiftKey || e.button) return;
      e.preventDefault();
      toggle(link, article);
    });
  }
  onInlineAction("a.act-related", toggleRelated);

  // --- the Summary action opens the FAQ inline (static/summary.js streams it); the link still works alone.
  function toggleSummary(link, article) {
    var id = article.dataset.id, panel = doc.getElementById("summary-" + id);
    if (panel) { panel.remove(); link.setAttribute("aria-expanded", "false"); return; }
    if (typeof window.papertideSummary !== "function" || !window.EventSource) { window.location = link.href; return; }
    panel = doc.createElement("section");
    panel.className = "summary-inline"; panel.id = "summary-" + id;
    var lang = (navigator.language || "en").toLowerCase().indexOf("zh") === 0 ? "zh" : "en";
    panel.dataset.stream = "/api/papers/" + id + "/summary?lang=" + lang;
    var h = doc.createElement("h2"); h.textContent = "Summary";
    var status = doc.createElement("p"); status.className = "summary-status"; status.setAttribute("role", "status"); status.setAttribute("aria-live", "polite");
    var note = doc.createElement("p"); note.className = "context-note"; note.hidden = true;
    note.textContent = "arXiv has no HTML full text for this paper: this summary is based on the title and abstract only.";
    var faq = doc.createElement("div"); faq.className = "faq";
    var more = doc.createElement("a"); more.href = link.href; more.textContent = "Open the summary page";
    [h, status, note, faq, more].forEach(function (el) { panel.appendChild(el); });
    article.appendChild(panel);
    link.setAttribute("aria-expanded", "true");
    window.papertideSummary(panel);
  }
  onInlineAction("a.act-summary", toggleSummary);

  // --- one click handler for every paper action
  doc.addEventListener("click", function (e) {
    var t = e.target.closest ? e.target.closest("button, .abstract") : null;
    if (!t) return;
    var article = t.closest("article.paper");
    if (t.classList.contains("act-star") && article) { toggleStar(article); if (doc.getElementById("starred-list") && !isStarred(article.dataset.id)) article.remove(); }
    else if (t.classList.contains("act-translate") && article) translatePaper(t, article);
    else if (t.classList.contains("act-copy") && article) {
      var p = paperData(article);
      copyText(t.dataset.copy === "bibtex" ? bibtex(p) : p.title + "\nhttps://arxiv.org/abs/" + p.id, t);
    } else if (t.classList.contains("abstract") && !e.target.closest("a")) t.classList.toggle("open");
  });
  // "/" focuses the search box, as on most sites.
  doc.addEventListener("keydown", function (e) {
    if (e.key === "/" && !/INPUT|TEXTAREA|SELECT/.test((doc.activeElement || {}).tagName || "")) {
      var q = doc.getElementById("top-q"); if (q) { e.preventDefault(); q.focus(); }
    }
  });

  function init() {
    setupTheme();
    setupKeywords();
    setupOrder();
    setupTranslate();
    renderStarred();
    setupStarTools();
    paintStars();
    $$("section.related[data-status=pending]").forEach(function (s) { setTimeout(function () { pollRelated(s, 60); }, 1500); });
    $$(".day-picker select").forEach(function (s) { s.addEventListener("change", function () { s.form.submit(); }); });
  }
  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", init); else init();
})();
