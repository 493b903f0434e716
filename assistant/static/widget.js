/* Guidance assistant widget: one <script src=".../widget.js" data-api-key="KEY"> renders a chat box.
 *
 * Attributes on the script tag (all optional):
 *   data-api-key   sent as "Authorization: Bearer KEY"; without it the caller is anonymous (public)
 *   data-api-base  where the API lives; defaults to the origin the script was loaded from
 *   data-target    CSS selector of an element to render into; defaults to just after the script
 *   data-title     heading of the box
 *   data-examples  example questions separated by "|" (defaults below)
 * Events dispatched on the widget's root element: guidance:delta, guidance:final, guidance:error,
 * guidance:reset. All text from the API is inserted with textContent, never as HTML, and answers
 * are rendered from Answer.parts: brackets inside the text are never read as markers.
 */
(function () {
  "use strict";
  var MAX_TURNS = 6;  // earlier turns sent as history (user + assistant messages)
  var EXAMPLES = [
    "What is a place-based partnership?",
    "What is the role of the Place Partnership Lead?",
    "How should place-based partnerships be governed?"
  ];
  var instances = 0;

  var CSS = [
    ".ga-widget{font:15px/1.5 system-ui,-apple-system,'Segoe UI',Arial,sans-serif;color:#212b32;",
    "border:1px solid #d8dde0;border-radius:6px;max-width:46rem;background:#fff;box-sizing:border-box}",
    ".ga-widget *{box-sizing:border-box}",
    ".ga-head{display:flex;align-items:center;justify-content:space-between;gap:.5rem;flex-wrap:wrap;",
    "background:#005eb8;color:#fff;padding:.5rem 1rem;border-radius:6px 6px 0 0}",
    ".ga-title{font-size:1.05em;font-weight:600;margin:0}",
    ".ga-reset{font:inherit;font-size:.9em;background:#fff;color:#005eb8;border:0;border-radius:4px;",
    "padding:.25rem .6rem;cursor:pointer}",
    ".ga-reset[hidden]{display:none}",
    ".ga-widget :focus-visible{outline:3px solid #ffb81c;outline-offset:2px}",
    ".ga-body{padding:1rem}",
    ".ga-intro p{margin:0 0 .5rem}",
    ".ga-examples{list-style:none;padding:0;margin:0 0 .75rem;display:flex;flex-wrap:wrap;gap:.4rem}",
    ".ga-example{font:inherit;font-size:.9em;text-align:left;background:#e8f1f8;color:#003d78;",
    "border:1px solid #8fb8de;border-radius:16px;padding:.25rem .75rem;cursor:pointer}",
    ".ga-example:hover{background:#d2e4f3}",
    ".ga-about{margin:0 0 .75rem;font-size:.9em}",
    ".ga-about summary{cursor:pointer;color:#005eb8;font-weight:600}",
    ".ga-about ul{margin:.4rem 0 0;padding-left:1.2rem}",
    ".ga-log{display:flex;flex-direction:column;gap:1rem}",
    ".ga-log:empty{display:none}",
    ".ga-turn{border-bottom:1px solid #e8edee;padding-bottom:1rem}",
    ".ga-turn:last-child{border-bottom:0}",
    ".ga-question{margin:0 0 .5rem auto;max-width:85%;width:fit-content;background:#e8f1f8;",
    "padding:.4rem .75rem;border-radius:10px 10px 2px 10px;font-weight:600}",
    ".ga-answer p{margin:.25rem 0}",
    ".ga-answer ul{margin:.25rem 0 .5rem;padding-left:1.4rem}",
    ".ga-answer li{margin:.15rem 0}",
    ".ga-draft{white-space:pre-wrap;color:#4c6272}",
    ".ga-draft::after{content:'\\2026'}",
    ".ga-cite{font-size:.75em;vertical-align:super;line-height:0;text-decoration:none;font-weight:700;",
    "color:#005eb8;padding:0 .1em}",
    ".ga-cite:hover,.ga-cite:focus{text-decoration:underline}",
    ".ga-sources{margin-top:.75rem;font-size:.9em;border-top:1px solid #d8dde0;padding-top:.5rem}",
    ".ga-sources h3,.ga-not-covered h3{font-size:1em;margin:.25rem 0}",
    ".ga-docs{list-style:none;padding:0;margin:0}",
    ".ga-doc{margin:.4rem 0}",
    ".ga-doc-title{font-weight:600;color:#005eb8}",
    ".ga-doc-meta,.ga-meta{color:#4c6272}",
    ".ga-refs{list-style:none;margin:.2rem 0 0;padding-left:.75rem;border-left:3px solid #d8dde0}",
    ".ga-source{margin:.2rem 0;padding:.1rem .25rem;border-radius:3px}",
    ".ga-source:target,.ga-source.ga-flash{background:#fff4cc}",
    ".ga-source a{color:#005eb8}",
    ".ga-num{font-weight:700;margin-right:.3rem}",
    ".ga-source details{margin:.15rem 0 0}",
    ".ga-source summary{cursor:pointer;color:#4c6272}",
    ".ga-source blockquote{margin:.25rem 0 .25rem .25rem;padding:.25rem .6rem;border-left:3px solid #005eb8;",
    "background:#f4f7f8;white-space:pre-wrap}",
    ".ga-not-covered{padding:.75rem 1rem;background:#fff9e6;border-left:6px solid #ffb81c;border-radius:3px}",
    ".ga-not-covered p{margin:.25rem 0}",
    ".ga-notice{font-weight:600;font-size:1.02em;background:#fff;border:1px solid #ffb81c;",
    "padding:.4rem .6rem;border-radius:4px;margin:.5rem 0}",
    ".ga-answer-notice{color:#4c6272;font-size:.9em;margin-top:.5rem}",
    ".ga-closest{margin:.25rem 0 0;padding-left:1.2rem}",
    ".ga-error{margin-top:.5rem;padding:.75rem;background:#fde8e8;border-left:6px solid #d5281b}",
    ".ga-form{display:flex;gap:.5rem;margin-top:1rem}",
    ".ga-label{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    ".ga-input{flex:1;min-width:0;font:inherit;padding:.5rem;border:2px solid #4c6272;border-radius:4px}",
    ".ga-button{font:inherit;font-weight:600;padding:.5rem 1rem;background:#007f3b;color:#fff;",
    "border:0;border-radius:4px;cursor:pointer}",
    ".ga-button[disabled]{background:#4c6272;cursor:wait}",
    ".ga-status{min-height:1.2em;font-size:.9em;color:#4c6272;margin-top:.25rem}",
    "@media (max-width:480px){.ga-body{padding:.75rem}.ga-question{max-width:100%}",
    ".ga-form{flex-direction:column}.ga-button{width:100%}}"
  ].join("");

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }

  function injectCss() {
    if (document.getElementById("ga-widget-css")) return;
    var style = el("style");
    style.id = "ga-widget-css";
    style.textContent = CSS;
    document.head.appendChild(style);
  }

  function Widget(root, opts) {
    this.root = root;
    this.id = "ga" + (++instances);
    this.apiBase = (opts.apiBase || "").replace(/\/+$/, "");
    this.apiKey = opts.apiKey || "";
    this.examples = opts.examples && opts.examples.length ? opts.examples : EXAMPLES;
    this.history = [];
    this.turns = 0;
    this.busy = false;
    this.render(opts.title || "Ask the guidance assistant");
    this.loadDocuments();
  }

  Widget.prototype.render = function (title) {
    var self = this;
    injectCss();
    this.root.classList.add("ga-widget");
    this.root.setAttribute("role", "region");
    this.root.setAttribute("aria-labelledby", this.id + "-title");
    var head = el("div", "ga-head");
    var heading = el("h2", "ga-title", title);
    heading.id = this.id + "-title";
    this.resetButton = el("button", "ga-reset", "New conversation");
    this.resetButton.type = "button";
    this.resetButton.hidden = true;
    this.resetButton.addEventListener("click", function () { self.reset(); });
    head.appendChild(heading);
    head.appendChild(this.resetButton);
    this.root.appendChild(head);

    var body = el("div", "ga-body");
    this.intro = this.renderIntro();
    body.appendChild(this.intro);
    this.log = el("div", "ga-log");
    this.log.setAttribute("role", "log");
    this.log.setAttribute("aria-label", "Conversation");
    this.log.setAttribute("aria-live", "polite");
    body.appendChild(this.log);

    var form = el("form", "ga-form");
    form.setAttribute("role", "search");
    var label = el("label", "ga-label", "Your question");
    label.setAttribute("for", this.id + "-input");
    this.input = el("input", "ga-input");
    this.input.id = this.id + "-input";
    this.input.type = "text";
    this.input.name = "question";
    this.input.maxLength = 2000;
    this.input.autocomplete = "off";
    this.input.placeholder = "Ask about place-based partnerships, ICS guidance\u2026";
    this.button = el("button", "ga-button", "Ask");
    this.button.type = "submit";
    form.appendChild(label);
    form.appendChild(this.input);
    form.appendChild(this.button);
    body.appendChild(form);
    this.status = el("div", "ga-status");
    this.status.setAttribute("role", "status");
    body.appendChild(this.status);
    this.root.appendChild(body);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      self.ask(self.input.value);
    });
  };

  Widget.prototype.renderIntro = function () {
    var self = this;
    var intro = el("div", "ga-intro");
    intro.appendChild(el("p", null, "Ask in your own words, or try one of these:"));
    var list = el("ul", "ga-examples");
    list.setAttribute("aria-label", "Example questions");
    this.examples.forEach(function (question) {
      var item = el("li");
      var button = el("button", "ga-example", question);
      button.type = "button";
      button.addEventListener("click", function () { self.ask(question); });
      item.appendChild(button);
      list.appendChild(item);
    });
    intro.appendChild(list);
    this.about = el("details", "ga-about");
    this.aboutSummary = el("summary", null, "Which documents can I ask about?");
    this.about.appendChild(this.aboutSummary);
    this.about.hidden = true;
    intro.appendChild(this.about);
    return intro;
  };

  Widget.prototype.loadDocuments = function () {
    var self = this;
    var headers = this.apiKey ? { "Authorization": "Bearer " + this.apiKey } : {};
    fetch(this.apiBase + "/v1/documents", { headers: headers })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (data) { self.showDocuments(data.documents || []); })
      .catch(function () { /* the list is a help, not a requirement: leave it hidden */ });
  };

  Widget.prototype.showDocuments = function (documents) {
    if (!documents.length) return;
    var self = this;
    this.aboutSummary.textContent = "Which documents can I ask about? (" + documents.length +
      (documents.length === 1 ? " document)" : " documents)");
    var list = el("ul", "ga-doc-list");
    documents.forEach(function (d) {
      var item = el("li");
      item.setAttribute("data-doc-id", d.doc_id);
      item.appendChild(self.pdfLink("ga-doc-link", d.title, d.doc_id, 1));
      var meta = [d.organisation, d.date].filter(Boolean).join(", ");
      if (meta) item.appendChild(el("span", "ga-doc-meta", " \u2014 " + meta));
      list.appendChild(item);
    });
    this.about.appendChild(list);
    this.about.hidden = false;
  };

  Widget.prototype.reset = function () {
    if (this.busy) return;
    this.history = [];
    this.log.textContent = "";
    this.intro.hidden = false;
    this.resetButton.hidden = true;
    this.status.textContent = "New conversation started.";
    this.input.value = "";
    this.input.focus();
    this.emit("reset", {});
  };

  Widget.prototype.pdfUrl = function (docId, page) {
    return this.apiBase + "/v1/documents/" + encodeURIComponent(docId) + "/pdf#page=" + (page || 1);
  };

  Widget.prototype.pdfLink = function (cls, text, docId, page) {
    var self = this;
    var link = el("a", cls, text);
    link.href = this.pdfUrl(docId, page);
    link.target = "_blank";
    link.rel = "noopener";
    link.setAttribute("data-doc-id", docId);
    link.setAttribute("data-page", String(page || 1));
    if (this.apiKey) {
      // A plain link cannot carry the Authorization header: fetch the PDF, open it as a blob.
      link.addEventListener("click", function (event) {
        event.preventDefault();
        var win = window.open("", "_blank");
        fetch(link.href.split("#")[0], { headers: { "Authorization": "Bearer " + self.apiKey } })
          .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.blob(); })
          .then(function (blob) {
            var url = URL.createObjectURL(blob) + "#page=" + (page || 1);
            if (win) win.location.href = url; else window.location.href = url;
          })
          .catch(function (err) {
            if (win) win.close();
            self.showError(link.closest(".ga-turn") || self.log, "Could not open the PDF: " + err.message);
          });
      });
    }
    return link;
  };

  Widget.prototype.headers = function () {
    var headers = { "Content-Type": "application/json", "Accept": "text/event-stream" };
    if (this.apiKey) headers["Authorization"] = "Bearer " + this.apiKey;
    return headers;
  };

  Widget.prototype.emit = function (name, detail) {
    this.root.dispatchEvent(new CustomEvent("guidance:" + name, { detail: detail, bubbles: true }));
  };

  Widget.prototype.setBusy = function (busy) {
    this.busy = busy;
    this.button.disabled = busy;
    this.resetButton.disabled = busy;
    this.status.textContent = busy ? "Searching the guidance\u2026" : "";
  };

  Widget.prototype.showError = function (turn, message) {
    var box = el("div", "ga-error", message);
    box.setAttribute("role", "alert");
    turn.appendChild(box);
    this.emit("error", { message: message });
  };

  Widget.prototype.ask = function (question) {
    var self = this;
    question = (question || "").trim();
    if (!question || this.busy) return;
    this.setBusy(true);
    this.intro.hidden = true;
    this.resetButton.hidden = false;
    var turn = el("article", "ga-turn");
    turn.id = this.id + "-t" + (++this.turns);
    turn.setAttribute("aria-label", "Question " + this.turns);
    turn.appendChild(el("p", "ga-question", question));
    var answerEl = el("div", "ga-answer");
    answerEl.setAttribute("aria-busy", "true");  // screen readers wait for the final answer
    var draft = el("p", "ga-draft");
    answerEl.appendChild(draft);
    turn.appendChild(answerEl);
    this.log.appendChild(turn);
    this.input.value = "";
    turn.scrollIntoView({ block: "nearest" });
    var body = JSON.stringify({ question: question, history: this.history.slice(-MAX_TURNS) });
    var finished = false;
    fetch(this.apiBase + "/v1/ask/stream", { method: "POST", headers: this.headers(), body: body })
      .then(function (response) {
        if (!response.ok) {
          return response.json().catch(function () { return {}; }).then(function (data) {
            var err = (data && data.error) || {};
            var retry = response.headers.get("Retry-After");
            throw new Error((err.message || ("HTTP " + response.status)) +
              (response.status === 429 && retry ? " (try again in " + retry + " s)" : ""));
          });
        }
        return self.readStream(response, function (name, data) {
          if (name === "delta") {
            draft.textContent += data.text;  // a preview only; replaced by the final answer
            self.emit("delta", data);
          } else if (name === "final") {
            finished = true;
            self.showAnswer(turn, answerEl, question, data);
          } else if (name === "error") {
            finished = true;
            throw new Error((data.error && data.error.message) || "the answer failed");
          }
        });
      })
      .then(function () { if (!finished) throw new Error("the answer was cut off"); })
      .catch(function (err) {
        draft.remove();
        self.showError(turn, "Sorry, something went wrong: " + err.message);
      })
      .then(function () { answerEl.removeAttribute("aria-busy"); self.setBusy(false); });
  };

  Widget.prototype.readStream = function (response, onEvent) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    function dispatch(block) {
      var name = "message", data = [];
      block.split("\n").forEach(function (line) {
        if (line.indexOf("event:") === 0) name = line.slice(6).trim();
        else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
      });
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) {
          buffer = buffer.replace(/\r\n?/g, "\n");
          if (buffer.trim()) dispatch(buffer);
          return;
        }
        buffer += decoder.decode(chunk.value, { stream: true });
        buffer = buffer.replace(/\r\n/g, "\n");
        var at;
        while ((at = buffer.indexOf("\n\n")) >= 0) {
          var block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          dispatch(block);
        }
        return pump();
      });
    }
    return pump();
  };

  Widget.prototype.showAnswer = function (turn, answerEl, question, answer) {
    answerEl.textContent = "";
    if (answer.refused) {
      answerEl.appendChild(this.refusalBox(answer));
    } else {
      var entries = groupSources(answer.citations || [], turn.id);
      this.renderParts(answerEl, answer, entries);
      if (entries.groups.length) turn.appendChild(this.sourcesBox(entries, turn.id));
      if (answer.notice) turn.appendChild(el("p", "ga-answer-notice", answer.notice));
    }
    this.history.push({ role: "user", content: question });
    this.history.push({ role: "assistant", content: String(answer.answer).slice(0, 8000) });
    this.emit("final", answer);
  };

  /* Sentences of one passage (its marker comes after the last) run on in a paragraph; every
     other quote (a cover sheet's next field, another page's passage) starts a new one, as in
     the answer's text and in Slack; consecutive items make one real list. */
  Widget.prototype.renderParts = function (answerEl, answer, entries) {
    var self = this;
    var parts = answer.parts || [];
    if (!parts.length) {  // an answer without structure: its text as it is, no markers read
      answerEl.appendChild(el("p", "ga-sentence", answer.answer));
      return;
    }
    var paragraph = null, list = null, goesOn = false;
    parts.forEach(function (part) {
      var holder;
      if (part.kind === "item") {
        if (!list) { list = el("ul", "ga-list"); answerEl.appendChild(list); }
        paragraph = null;
        holder = el("li", "ga-item");
        list.appendChild(holder);
      } else {
        list = null;
        if (!paragraph || !goesOn) {
          paragraph = el("p", "ga-sentence");
          answerEl.appendChild(paragraph);
        } else paragraph.appendChild(document.createTextNode(" "));
        holder = el("span", "ga-part");
        paragraph.appendChild(holder);
      }
      holder.appendChild(document.createTextNode(part.text));
      goesOn = part.kind !== "item" && !(part.citations || []).length;
      (part.citations || []).forEach(function (n) {
        var entry = entries.byN[n];
        if (entry) holder.appendChild(self.marker(n, entry));
      });
    });
  };

  Widget.prototype.marker = function (n, entry) {
    var link = el("a", "ga-cite", "[" + n + "]");
    link.href = "#" + entry.id;
    link.setAttribute("data-n", String(n));
    link.setAttribute("aria-label", "Source " + n + ": " + entry.title + ", page " + entry.page);
    link.addEventListener("click", function (event) {
      var target = document.getElementById(entry.id);
      if (!target) return;
      event.preventDefault();  // keep the page's own URL; move focus to the source instead
      var details = target.querySelector("details");
      if (details) details.open = true;
      target.classList.add("ga-flash");
      setTimeout(function () { target.classList.remove("ga-flash"); }, 2000);
      target.scrollIntoView({ block: "nearest" });
      target.focus();
    });
    return link;
  };

  Widget.prototype.sourcesBox = function (entries, turnId) {
    var self = this;
    var box = el("section", "ga-sources");
    var heading = el("h3", null, "Sources");
    heading.id = turnId + "-sources";
    box.setAttribute("aria-labelledby", heading.id);
    box.appendChild(heading);
    var docs = el("ul", "ga-docs");
    entries.groups.forEach(function (group) {
      var doc = el("li", "ga-doc");
      doc.setAttribute("data-doc-id", group.docId);
      doc.appendChild(self.pdfLink("ga-doc-title", group.title, group.docId, group.entries[0].page));
      var refs = el("ul", "ga-refs");
      group.entries.forEach(function (entry) {
        var item = el("li", "ga-source");
        item.id = entry.id;
        item.tabIndex = -1;
        item.setAttribute("data-n", entry.numbers.join(" "));
        item.appendChild(el("span", "ga-num", entry.numbers.map(function (n) { return "[" + n + "]"; }).join("")));
        item.appendChild(self.pdfLink("ga-source-link", "page " + entry.page, group.docId, entry.page));
        if (entry.section) item.appendChild(el("span", "ga-meta", " \u00b7 " + entry.section));
        if (entry.quote) {
          var details = el("details");
          details.appendChild(el("summary", null, "Quote"));
          details.appendChild(el("blockquote", null, entry.quote));
          item.appendChild(details);
        }
        refs.appendChild(item);
      });
      doc.appendChild(refs);
      docs.appendChild(doc);
    });
    box.appendChild(docs);
    return box;
  };

  Widget.prototype.refusalBox = function (answer) {
    var self = this;
    var box = el("div", "ga-not-covered");
    box.appendChild(el("h3", null, "Not covered by the documents you can search"));
    if (answer.notice) box.appendChild(el("p", "ga-notice", answer.notice));
    var closest = answer.closest_documents || [];
    var said = withoutTitles(String(answer.answer || ""), closest);
    if (said) box.appendChild(el("p", "ga-refusal", said));
    if (closest.length) {
      box.appendChild(el("p", null, "The closest documents you can see:"));
      var list = el("ul", "ga-closest");
      closest.forEach(function (d) {
        var item = el("li");
        item.appendChild(self.pdfLink("ga-doc", d.title, d.doc_id, 1));
        list.appendChild(item);
      });
      box.appendChild(list);
    }
    return box;
  };

  /* The refusal's own sentences minus any that list the closest documents (shown as links). */
  function withoutTitles(text, closest) {
    if (!closest.length) return text.trim();
    return text.split(/(?<=[.!?])\s+/).filter(function (sentence) {
      return !closest.some(function (d) { return d.title && sentence.indexOf(d.title) >= 0; });
    }).join(" ").trim();
  }

  /* Citations grouped per document (first cited first); identical page/section/quote merged. */
  function groupSources(citations, turnId) {
    var groups = [], byDoc = {}, byKey = {}, byN = {}, count = 0;
    citations.slice().sort(function (a, b) { return a.n - b.n; }).forEach(function (c) {
      var group = byDoc[c.doc_id];
      if (!group) {
        group = byDoc[c.doc_id] = { docId: c.doc_id, title: c.title, entries: [] };
        groups.push(group);
      }
      var key = c.doc_id + "\u0000" + c.page + "\u0000" + (c.section || "") + "\u0000" + (c.quote || "");
      var entry = byKey[key];
      if (!entry) {
        entry = byKey[key] = { id: turnId + "-s" + (++count), numbers: [], title: c.title,
                               page: c.page, section: c.section || "", quote: c.quote || "" };
        group.entries.push(entry);
      }
      entry.numbers.push(c.n);
      byN[c.n] = entry;
    });
    return { groups: groups, byN: byN };
  }

  function mount(target, opts) {
    var root = typeof target === "string" ? document.querySelector(target) : target;
    if (!root) throw new Error("guidance widget: no element " + target);
    return new Widget(root, opts || {});
  }

  window.GuidanceWidget = { mount: mount };

  var script = document.currentScript;
  if (!script) return;
  var examples = script.getAttribute("data-examples");
  var opts = {
    apiKey: script.getAttribute("data-api-key") || "",
    apiBase: script.getAttribute("data-api-base") || new URL(script.src, location.href).origin,
    title: script.getAttribute("data-title") || "",
    examples: examples ? examples.split("|").map(function (q) { return q.trim(); }).filter(Boolean) : null
  };
  var selector = script.getAttribute("data-target");
  function start() {
    var root = selector ? document.querySelector(selector) : null;
    if (!root) {
      root = el("div");
      if (script.parentNode && script.parentNode !== document.head) {
        script.parentNode.insertBefore(root, script.nextSibling);
      } else {
        document.body.appendChild(root);
      }
    }
    mount(root, opts);
  }
  var inHead = script.parentNode === document.head;
  if ((selector || inHead) && document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
