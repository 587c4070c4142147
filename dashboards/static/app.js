// The pages' one script: draws the charts the server describes and shows what is new.
//
// Every chart is an element `.chart` whose `data-spec` attribute holds its JSON (escaped by
// the server like any attribute, so no inline script is needed and the Content-Security-Policy
// forbids them). Text is only ever set as text: tooltips are drawn on the canvas
// (`renderMode: "richText"`) and live items are added with `textContent`.
"use strict";

(function () {
  const lang = document.documentElement.lang === "en" ? "EN" : "ZH";
  const printing = document.body.classList.contains("print");
  const palette = ["#c0392b", "#e67e22", "#2980b9", "#27ae60", "#8e44ad", "#7f8c8d", "#16a085"];

  function base(spec) {
    return {
      animation: !printing,
      color: palette,
      textStyle: { fontFamily: "Noto Sans CJK SC, sans-serif" },
      tooltip: { trigger: spec.type === "line" || spec.type === "bar" ? "axis" : "item", renderMode: "richText" },
      grid: { left: 48, right: 16, top: 36, bottom: 28, containLabel: true },
    };
  }

  function line(spec) {
    return Object.assign(base(spec), {
      legend: { type: "scroll", top: 0 },
      xAxis: { type: "category", data: spec.x, boundaryGap: false },
      yAxis: { type: "value", minInterval: 1 },
      series: spec.series.map((s) => ({ name: s.name, type: "line", stack: "all", areaStyle: {}, symbol: "none", data: s.data })),
    });
  }

  function bar(spec) {
    const categories = { type: "category", data: spec.x, axisLabel: { interval: 0, width: 140, overflow: "truncate" } };
    const values = { type: "value", minInterval: 1 };
    return Object.assign(base(spec), {
      legend: spec.series.length > 1 ? { top: 0 } : undefined,
      xAxis: spec.horizontal ? values : categories,
      yAxis: spec.horizontal ? Object.assign(categories, { inverse: true }) : values,
      series: spec.series.map((s) => ({ name: s.name, type: "bar", stack: spec.stack ? "all" : undefined, data: s.data })),
    });
  }

  function pie(spec) {
    return Object.assign(base(spec), {
      legend: { bottom: 0 },
      series: [{ type: "pie", radius: ["40%", "70%"], data: spec.data, label: { formatter: "{b}: {c}" } }],
    });
  }

  function map(spec) {
    const names = new Map(spec.data.map((d) => [d.name, d.label]));
    return Object.assign(base(spec), {
      visualMap: {
        min: 0,
        max: Math.max(1, spec.max),
        calculable: true,
        left: 0,
        bottom: 0,
        text: [spec.high, spec.low],
        inRange: { color: ["#f4f6f7", "#f5b041", "#c0392b"] },
      },
      tooltip: { trigger: "item", renderMode: "richText", formatter: (p) => `${names.get(p.name) || p.name}: ${isNaN(p.value) ? "-" : p.value}` },
      series: [
        {
          type: "map",
          map: "china",
          nameProperty: "code",
          roam: true,
          data: spec.data,
          label: { show: false },
          emphasis: { label: { show: true, formatter: (p) => names.get(p.name) || "" } },
        },
      ],
    });
  }

  async function draw(el) {
    const spec = JSON.parse(el.dataset.spec);
    const chart = echarts.init(el, null, { locale: lang, renderer: "canvas" });
    if (spec.type === "map") {
      const r = await fetch(el.dataset.map, { credentials: "same-origin" });
      echarts.registerMap("china", await r.json());
    }
    const option = { line, bar, pie, map }[spec.type](spec);
    if (spec.title) option.title = { text: spec.title, left: "center", textStyle: { fontSize: 13 } };
    chart.setOption(option);
    if (spec.link) {
      chart.on("click", (p) => {
        const key = spec.keys ? spec.keys[p.dataIndex] : p.name;
        if (key) window.location.assign(spec.link + encodeURIComponent(key));
      });
    }
    el.setAttribute("data-drawn", "1");
    window.addEventListener("resize", () => chart.resize());
  }

  // Once every chart is drawn the page is complete: mark the moment for whoever measures
  // (the national page's benchmark reads it from the Performance API).
  const charts = Array.from(document.querySelectorAll(".chart[data-spec]"), (el) =>
    draw(el).catch((e) => {
      el.textContent = String(e);
    }),
  );
  Promise.all(charts).then(() => {
    performance.mark("icsight:drawn");
    document.body.setAttribute("data-drawn", "1");
  });

  // Live: critical alerts and incidents of the reader's scope as they arrive.
  const badge = document.getElementById("unread");
  const list = document.getElementById("live");
  if (badge && list && window.EventSource) {
    let unread = 0;
    const source = new EventSource("/events");
    const show = (kind, e) => {
      const item = JSON.parse(e.data);
      unread += 1;
      badge.textContent = String(unread);
      badge.hidden = false;
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = item.href;
      a.textContent = item.text;
      li.className = kind;
      li.appendChild(a);
      list.prepend(li);
      while (list.children.length > 20) list.lastChild.remove();
      list.hidden = false;
    };
    source.addEventListener("alert", (e) => show("alert", e));
    source.addEventListener("incident", (e) => show("incident", e));
    source.addEventListener("open", () => document.body.setAttribute("data-live", "1"));
    badge.addEventListener("click", () => {
      unread = 0;
      badge.textContent = "0";
      badge.hidden = true;
      list.hidden = !list.hidden;
    });
  }
})();
