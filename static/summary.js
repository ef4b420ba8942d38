// Streams a paper's FAQ summary into an element from the SSE endpoint named in its data-stream attribute: #summary
// on the summary page, and the inline panels app.js opens on listings and paper pages (window.papertideSummary).
// Answers arrive as plain text deltas (shown as text, never as HTML) and are replaced by the server's sanitized
// HTML when each answer is done. Loaded as a file, not inline, so the page's Content-Security-Policy holds.
(function () {
  'use strict';
  function attach(root) {
  if (!root || !root.dataset.stream || root.dataset.cached === '1' || !window.EventSource) return;
  var list = root.querySelector('.faq');
  var status = root.querySelector('.summary-status');
  var note = root.querySelector('.context-note');
  var items = [];
  var source = new EventSource(root.dataset.stream);

  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle('summary-error', !!isError);
  }

  function item(index, question) {
    if (!items[index]) {
      var section = document.createElement('section');
      section.className = 'faq-item';
      var h = document.createElement('h2');
      var answer = document.createElement('div');
      answer.className = 'answer streaming';
      section.appendChild(h);
      section.appendChild(answer);
      list.appendChild(section);
      items[index] = { heading: h, answer: answer };
    }
    if (question) items[index].heading.textContent = question;
    return items[index];
  }

  // Tells the site's math renderer (KaTeX auto-render or MathJax, whichever the layout loads) about new TeX.
  function renderMath(el) {
    if (typeof window.renderMathInElement === 'function') window.renderMathInElement(el);
    else if (window.MathJax && typeof window.MathJax.typesetPromise === 'function') window.MathJax.typesetPromise([el]);
    document.dispatchEvent(new CustomEvent('papertide:content', { detail: el }));
  }

  function on(name, handle) {
    source.addEventListener(name, function (e) {
      var data;
      try { data = JSON.parse(e.data); } catch (err) { return; }
      handle(data);
    });
  }

  on('meta', function () {
    // A (re)connection replays the stream from its start.
    list.textContent = '';
    items = [];
    say('Preparing the summary…');
  });
  on('queued', function (d) { say('Waiting for the LLM: position ' + d.position + ' in the queue…'); });
  on('context', function (d) { note.hidden = !!d.full_text; say('Reading the paper…'); });
  on('question', function (d) { item(d.index, d.question); say('Answering question ' + (d.index + 1) + '…'); });
  on('delta', function (d) { item(d.index).answer.appendChild(document.createTextNode(d.text)); });
  on('restart', function (d) {
    item(d.index).answer.textContent = '';
    say('The connection to the LLM broke; this answer starts over…');
  });
  on('answer_done', function (d) {
    var it = item(d.index);
    it.answer.innerHTML = d.html; // sanitized by the server (ammonia)
    it.answer.classList.remove('streaming');
    renderMath(it.answer);
  });
  on('complete', function (d) {
    source.close();
    say(d.complete ? '' : 'Some answers were cut off by the LLM; they are shown but not kept.');
  });
  on('unconfigured', function (d) { source.close(); say(d.message, true); });
  source.addEventListener('error', function (e) {
    var data = null;
    if (e.data) { try { data = JSON.parse(e.data); } catch (err) { data = null; } }
    if (data && data.message) {
      source.close();
      say(data.message, true);
    } else if (source.readyState === EventSource.CLOSED) {
      say('The summary stream could not be opened (too many requests, or the server is down). Try again later.', true);
    }
  });
  }
  window.papertideSummary = attach;
  function start() { attach(document.getElementById('summary')); }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();
