import { expect, it } from "vitest";
import { camelFigures, parsePrometheusText } from "./camel-metrics.ts";

const text = `# HELP camel_exchanges_total Total number of exchanges
# TYPE camel_exchanges_total counter
camel_exchanges_total{camelContext="camel-1",routeId="orders",eventType="RouteEvent"} 120.0
camel_exchanges_total{camelContext="camel-1",routeId="audit",eventType="RouteEvent"} 30.0
camel_exchanges_failed_total{camelContext="camel-1",routeId="orders"} 4.0
camel_exchanges_failed_total{camelContext="camel-1",routeId="audit"} 1.0 1700000000000
camel_exchanges_inflight{camelContext="camel-1",routeId="orders"} 2.0
camel_routes_running{camelContext="camel-1",label="a \\"quoted\\", value"} 2.0
jvm_memory_used_bytes{area="heap"} 1.2E7
weird_metric NaN
`;

it("parses the exposition format with labels, escapes and timestamps", () => {
  const s = parsePrometheusText(text);
  expect(s).toHaveLength(8);
  expect(s[5]?.labels.label).toBe('a "quoted", value');
  expect(s[6]?.value).toBe(1.2e7);
});

it("sums Camel figures across routes", () => {
  expect(camelFigures(parsePrometheusText(text))).toEqual({
    exchangesTotal: 150,
    exchangesFailed: 5,
    exchangesInflight: 2,
    routesRunning: 2,
  });
});

it("prefers context-wide series so nothing counts twice", () => {
  const s = parsePrometheusText(
    'camel_exchanges_total{camelContext="c"} 10\ncamel_exchanges_total{camelContext="c",routeId="r1"} 6\ncamel_exchanges_total{camelContext="c",routeId="r2"} 4\n',
  );
  expect(camelFigures(s).exchangesTotal).toBe(10);
});
