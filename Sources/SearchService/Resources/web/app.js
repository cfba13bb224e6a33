// The search page: text search, search by a dropped/pasted/chosen image, "similar" on click, paging on scroll.
// Plain browser JavaScript with no dependencies, so the page works offline from the binary alone.
(function () {
  "use strict";
  var PAGE = 24;
  var el = function (id) { return document.getElementById(id); };
  var results = el("results"), status = el("status"), sentinel = el("sentinel"), preview = el("query-preview");
  var current = null;   // {kind, label, fetchPage(offset) -> Promise<page>}
  var nextOffset = null, loading = false, generation = 0;

  function setState(state) { results.setAttribute("data-state", state); }

  function getJSON(response) {
    return response.json().catch(function () { return {}; }).then(function (body) {
      if (!response.ok) {
        var message = body && body.error ? body.error.message : response.statusText;
        throw new Error(message + "（" + response.status + "）");
      }
      return body;
    });
  }

  function pageQuery(offset) { return "k=" + PAGE + "&offset=" + offset; }

  function textSource(q) {
    return { kind: "text", label: "“" + q + "”", url: "/?q=" + encodeURIComponent(q),
      fetchPage: function (offset) {
        return fetch("/api/search?q=" + encodeURIComponent(q) + "&" + pageQuery(offset)).then(getJSON);
      } };
  }

  function similarSource(id) {
    return { kind: "similar", label: "与图片 #" + id + " 相似", url: "/?similar=" + id,
      fetchPage: function (offset) {
        return fetch("/api/search/similar/" + encodeURIComponent(id) + "?" + pageQuery(offset)).then(getJSON);
      } };
  }

  function embeddingSource(embedding, label) {
    return { kind: "image", label: label, url: null,
      fetchPage: function (offset) {
        return fetch("/api/search/embedding?" + pageQuery(offset), {
          method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ embedding: embedding }) }).then(getJSON);
      } };
  }

  function card(item) {
    var a = document.createElement("a");
    a.className = "card";
    a.href = "/?similar=" + item.id;
    a.title = item.path + "\n" + item.width + "×" + item.height + " · 点击查找相似图片";
    a.setAttribute("data-id", item.id);
    a.setAttribute("data-path", item.path);
    a.setAttribute("data-score", item.score);
    var img = document.createElement("img");
    img.loading = "lazy";
    img.alt = item.path.split("/").pop();
    img.src = item.thumbnail + "?size=320";
    var meta = document.createElement("div");
    meta.className = "meta";
    var score = document.createElement("span");
    score.className = "score";
    score.textContent = item.score.toFixed(3);
    var name = document.createElement("span");
    name.className = "name";
    name.textContent = img.alt;
    meta.appendChild(score);
    meta.appendChild(name);
    a.appendChild(img);
    a.appendChild(meta);
    a.addEventListener("click", function (event) {
      if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      run(similarSource(item.id), true);
      window.scrollTo({ top: 0, behavior: "smooth" });
    });
    return a;
  }

  function loadMore() {
    if (!current || loading || nextOffset === null) return;
    loading = true;
    setState("loading");
    var mine = generation, source = current;
    source.fetchPage(nextOffset).then(function (page) {
      if (mine !== generation) return;
      page.results.forEach(function (item) { results.appendChild(card(item)); });
      nextOffset = page.nextOffset === undefined ? null : page.nextOffset;
      var shown = results.children.length;
      status.textContent = source.label + "：显示 " + shown + " 张" + (nextOffset === null ? "（已全部显示）" : "，向下滚动加载更多");
      if (shown === 0) status.textContent = source.label + "：没有找到图片";
      setState("done");
    }).catch(function (error) {
      if (mine !== generation) return;
      status.textContent = "出错了：" + error.message;
      setState("error");
    }).then(function () {
      if (mine !== generation) return;
      loading = false;
      if (nextOffset !== null && sentinelVisible()) loadMore();
    });
  }

  function sentinelVisible() {
    var rect = sentinel.getBoundingClientRect();
    return rect.top < window.innerHeight + 400;
  }

  function run(source, push) {
    generation += 1;
    loading = false;
    current = source;
    nextOffset = 0;
    results.innerHTML = "";
    status.textContent = "正在搜索 " + source.label + " …";
    if (source.kind !== "image") preview.hidden = true;
    if (push && source.url) history.pushState({}, "", source.url);
    loadMore();
  }

  function searchImage(file) {
    if (!file || !/^image\//.test(file.type)) { status.textContent = "请选择图片文件"; return; }
    generation += 1;
    var mine = generation;
    status.textContent = "正在分析图片…";
    setState("loading");
    results.innerHTML = "";
    preview.innerHTML = "";
    var thumb = document.createElement("img");
    thumb.src = URL.createObjectURL(file);
    preview.appendChild(thumb);
    preview.appendChild(document.createTextNode("以图搜图：" + (file.name || "粘贴的图片")));
    preview.hidden = false;
    fetch("/api/embed/image", { method: "POST", headers: { "Content-Type": file.type }, body: file })
      .then(getJSON)
      .then(function (body) {
        if (mine !== generation) return;
        history.pushState({}, "", "/");
        el("query").value = "";
        run(embeddingSource(body.embedding, "以图搜图"), false);
      })
      .catch(function (error) {
        if (mine !== generation) return;
        status.textContent = "图片无法搜索：" + error.message;
        setState("error");
      });
  }

  function fromLocation() {
    var params = new URLSearchParams(location.search);
    var q = params.get("q"), similar = params.get("similar");
    if (q) { el("query").value = q; run(textSource(q), false); }
    else if (similar) { run(similarSource(similar), false); }
    else { current = null; results.innerHTML = ""; status.textContent = ""; setState("idle"); }
  }

  el("search-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var q = el("query").value.trim();
    if (q) run(textSource(q), true);
  });
  el("file").addEventListener("change", function (event) { searchImage(event.target.files[0]); event.target.value = ""; });
  var drop = el("drop-zone");
  ["dragenter", "dragover"].forEach(function (type) {
    document.addEventListener(type, function (event) { event.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (type) {
    document.addEventListener(type, function () { drop.classList.remove("over"); });
  });
  document.addEventListener("drop", function (event) {
    event.preventDefault();
    var files = event.dataTransfer && event.dataTransfer.files;
    if (files && files.length) searchImage(files[0]);
  });
  document.addEventListener("paste", function (event) {
    var items = (event.clipboardData && event.clipboardData.items) || [];
    for (var i = 0; i < items.length; i++) {
      if (items[i].kind === "file" && /^image\//.test(items[i].type)) { searchImage(items[i].getAsFile()); return; }
    }
  });
  window.addEventListener("popstate", fromLocation);
  if ("IntersectionObserver" in window) {
    new IntersectionObserver(function (entries) {
      if (entries.some(function (e) { return e.isIntersecting; })) loadMore();
    }, { rootMargin: "400px" }).observe(sentinel);
  } else {
    window.addEventListener("scroll", function () { if (sentinelVisible()) loadMore(); });
  }

  fetch("/api/info").then(getJSON).then(function (info) {
    var size = info.index.bytesOnDisk ? " · " + (info.index.bytesOnDisk / 1048576).toFixed(1) + " MB" : "";
    el("index-info").textContent = "索引：" + info.index.rows + " 张图片 · 模型：" + info.index.model + size;
    el("index-info").setAttribute("data-rows", info.index.rows);
  }).catch(function (error) { el("index-info").textContent = "无法读取索引信息：" + error.message; });
  fromLocation();
})();
