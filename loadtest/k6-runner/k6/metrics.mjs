// 'k6/metrics' shim: Trend, Counter, Rate, Gauge. Tags given to add() are ignored.
import { rt } from './runtime.mjs';

class Metric {
  constructor(type, name, isTime) {
    if (typeof name !== 'string' || !/^[\p{L}\p{N}._ !?/&#()<>%-]{1,128}$/u.test(name)) {
      throw new Error(`invalid metric name '${name}'`);
    }
    this.name = name;
    this.type = type;
    rt().defineMetric(name, type, Boolean(isTime));
  }

  add(value, tags) {
    void tags;
    rt().add(this.name, value);
  }
}

export class Trend extends Metric { constructor(name, isTime = false) { super('trend', name, isTime); } }
export class Counter extends Metric { constructor(name, isTime = false) { super('counter', name, isTime); } }
export class Rate extends Metric { constructor(name, isTime = false) { super('rate', name, isTime); } }
export class Gauge extends Metric { constructor(name, isTime = false) { super('gauge', name, isTime); } }

export default { Trend, Counter, Rate, Gauge };
