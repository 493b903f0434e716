/* Guidance assistant widget: one <script src=".../widget.js" data-api-key="KEY"> renders a chat box.
 *
 * Attributes on the script tag (all optional):
 *   data-api-key   sent as "Authorization: Bearer KEY"; without it the caller is anonymous (public)
 *   data-api-base  where the API lives; defaults to the origin the script was loaded from
 *   data-target    CSS selector of an element to render into; defaults to just after the script
 *   data-title     heading of the box
 * Events dispatched on the widget's root element: guidance:delta, guidance:final, guidance:error.
 * All text from the API is inserted with textContent, never as HTML.
 */
(function () {
  "use strict";
  var MAX_TURNS = 6;

  var CSS = [
    ".ga-widget{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Arial,sans-serif;color:#212b32;",
    "border:1px solid #d8dde0;border-radius:6px;max-width:46rem;background:#fff;box-sizing:border-box}",
    ".ga-widget *{box-sizing:border-box}",
    ".ga-head{background:#005eb8;color:#fff;padding:.6rem 1rem;font-weight:600;border-radius:6px 6px 0 0}",
    ".ga-body{padding:1rem}",
    ".ga-form{display:flex;gap:.5rem}",
    ".ga-input{flex:1;font:inherit;padding:.5rem;border:2px solid #4c6272;border-radius:4px}",
    ".ga-button{font:inherit;font-weight:600;padding:.5rem 1rem;background:#007f3b;color:#fff;",
    "border:0;border-radius:4px;cursor:pointer}",
    ".ga-button[disabled]{background:#768692;cursor:wait}",
    ".ga-question{margin-top:.75rem;font-weight:600}",
    ".ga-answer{margin-top:.5rem;white-space:pre-wrap}",
    ".ga-answer:empty{display:none}",
    ".ga-streaming::after{content:'\\2026';color:#768692}",
    ".ga-cite{font-size:.8em;vertical-align:super;text-decoration:none;font-weight:600;color:#005eb8}",
    ".ga-cite:hover,.ga-cite:focus{text-decoration:underline}",
    ".ga-sources{margin-top:1rem;font-size:.9em;border-top:1px solid #d8dde0;padding-top:.5rem}",
    ".ga-sources:empty{display:none}",
    ".ga-sources h3,.ga-not-covered h3{font-size:1em;margin:.25rem 0}",
    ".ga-sources li{margin:.25rem 0}",
    ".ga-meta{color:#4c6272}",
    ".ga-not-covered{margin-top:1rem;padding:.75rem;background:#fff9c4;border-left:6px solid #ffeb3b}",
    ".ga-error{margin-top:1rem;padding:.75rem;background:#fde8e8;border-left:6px solid #d5281b}",
    ".ga-notice{margin-top:.5rem;font-size:.85em;color:#4c6272}"
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
    this.apiBase = (opts.apiBase || "").replace(/\/+$/, "");
    this.apiKey = opts.apiKey || "";
    this.history = [];
    this.busy = false;
    this.render(opts.title || "Ask the guidance assistant");
  }

  Widget.prototype.render = function (title) {
    var self = this;
    injectCss();
    this.root.classList.add("ga-widget");
    this.root.setAttribute("role", "region");
    this.root.setAttribute("aria-label", title);
    this.root.appendChild(el("div", "ga-head", title));
    var body = el("div", "ga-body");
    var form = el("form", "ga-form");
    this.input = el("input", "ga-input");
    this.input.type = "text";
    this.input.name = "question";
    this.input.maxLength = 2000;
    this.input.placeholder = "Ask about place-based partnerships, ICS guidance...";
    this.input.setAttribute("aria-label", "Your question");
    this.button = el("button", "ga-button", "Ask");
    this.button.type = "submit";
    form.appendChild(this.input);
    form.appendChild(this.button);
    this.status = el("div", "ga-status");
    this.status.setAttribute("aria-live", "polite");
    this.output = el("div", "ga-output");
    body.appendChild(form);
    body.appendChild(this.status);
    body.appendChild(this.output);
    this.root.appendChild(body);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      self.ask(self.input.value);
    });
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
        fetch(link.href.split("#")[0], { headers: self.headers() })
          .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.blob(); })
          .then(function (blob) {
            var url = URL.createObjectURL(blob) + "#page=" + (page || 1);
            if (win) win.location.href = url; else window.location.href = url;
          })
          .catch(function (err) { if (win) win.close(); self.showError("Could not open the PDF: " + err.message); });
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
    this.status.textContent = busy ? "Searching the guidance\u2026" : "";
  };

  Widget.prototype.showError = function (message) {
    var box = el("div", "ga-error", message);
    box.setAttribute("role", "alert");
    this.output.appendChild(box);
    this.emit("error", { message: message });
  };

  Widget.prototype.ask = function (question) {
    var self = this;
    question = (question || "").trim();
    if (!question || this.busy) return;
    this.setBusy(true);
    this.output.textContent = "";
    this.output.appendChild(el("div", "ga-question", question));
    this.answerEl = el("div", "ga-answer ga-streaming");
    this.answerEl.setAttribute("aria-live", "polite");
    this.output.appendChild(this.answerEl);
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
            self.answerEl.textContent += data.text;
            self.emit("delta", data);
          } else if (name === "final") {
            finished = true;
            self.showAnswer(question, data);
          } else if (name === "error") {
            finished = true;
            throw new Error((data.error && data.error.message) || "the answer failed");
          }
        });
      })
      .then(function () { if (!finished) throw new Error("the answer was cut off"); })
      .catch(function (err) {
        self.answerEl.classList.remove("ga-streaming");
        self.showError("Sorry, something went wrong: " + err.message);
      })
      .then(function () { self.setBusy(false); });
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

  Widget.prototype.showAnswer = function (question, answer) {
    var self = this;
    var byN = {};
    (answer.citations || []).forEach(function (c) { byN[c.n] = c; });
    this.answerEl.classList.remove("ga-streaming");
    this.answerEl.textContent = "";
    if (answer.refused) {
      this.answerEl.remove();
      var box = el("div", "ga-not-covered");
      box.setAttribute("role", "status");
      box.appendChild(el("h3", null, "Not covered"));
      box.appendChild(el("p", "ga-refusal", answer.answer));
      var closest = answer.closest_documents || [];
      if (closest.length) {
        box.appendChild(el("p", "ga-meta", "The closest documents you can see:"));
        var list = el("ul", "ga-closest");
        closest.forEach(function (d) {
          var item = el("li");
          item.appendChild(self.pdfLink("ga-doc", d.title, d.doc_id, 1));
          list.appendChild(item);
        });
        box.appendChild(list);
      }
      this.output.appendChild(box);
    } else {
      // Split the text on [n] markers; each known marker becomes a link to the cited PDF page.
      var parts = String(answer.answer).split(/(\[\d+\])/);
      parts.forEach(function (part) {
        var m = /^\[(\d+)\]$/.exec(part);
        var c = m && byN[Number(m[1])];
        if (c) {
          var link = self.pdfLink("ga-cite", part, c.doc_id, c.page);
          link.setAttribute("data-n", String(c.n));
          link.title = c.title + ", page " + c.page + (c.quote ? ": \u201c" + c.quote + "\u201d" : "");
          self.answerEl.appendChild(link);
        } else if (part) {
          self.answerEl.appendChild(document.createTextNode(part));
        }
      });
      this.showSources(answer.citations || []);
    }
    if (answer.notice) this.output.appendChild(el("div", "ga-notice", answer.notice));
    this.history.push({ role: "user", content: question });
    this.history.push({ role: "assistant", content: String(answer.answer).slice(0, 8000) });
    this.input.value = "";
    this.emit("final", answer);
  };

  Widget.prototype.showSources = function (citations) {
    if (!citations.length) return;
    var self = this;
    var box = el("div", "ga-sources");
    box.appendChild(el("h3", null, "Sources"));
    var list = el("ol", "ga-source-list");
    citations.forEach(function (c) {
      var item = el("li", "ga-source");
      item.value = c.n;
      item.setAttribute("data-n", String(c.n));
      item.appendChild(self.pdfLink("ga-source-link", c.title, c.doc_id, c.page));
      item.appendChild(el("span", "ga-meta", " \u2014 page " + c.page + (c.section ? ", " + c.section : "")));
      list.appendChild(item);
    });
    box.appendChild(list);
    this.output.appendChild(box);
  };

  function mount(target, opts) {
    var root = typeof target === "string" ? document.querySelector(target) : target;
    if (!root) throw new Error("guidance widget: no element " + target);
    return new Widget(root, opts || {});
  }

  window.GuidanceWidget = { mount: mount };

  var script = document.currentScript;
  if (!script) return;
  var opts = {
    apiKey: script.getAttribute("data-api-key") || "",
    apiBase: script.getAttribute("data-api-base") || new URL(script.src, location.href).origin,
    title: script.getAttribute("data-title") || ""
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
