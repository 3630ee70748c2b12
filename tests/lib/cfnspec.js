'use strict';
/*
 * A CloudFormation template validator built on the CloudFormation Resource
 * Specification shipped in the npm package @aws-cdk/cfnspec
 * (node_modules/@aws-cdk/cfnspec/spec/specification.json: ResourceTypes,
 * PropertyTypes and ResourceSpecificationVersion, with the CDK's patches).
 *
 *   parseTemplate(text)           YAML (or JSON) with the short-form tags (!Ref, !Sub,
 *                                 !GetAtt, !If, ...) -> the long form ({Ref}, {'Fn::Sub'}, ...)
 *   validateTemplate(template)    -> array of "path: message" strings, empty when valid
 *   checkReferences(template)     -> the reference errors among them only (see below)
 *   evaluate(value, template, {parameters})
 *                                 resolves Ref/FindInMap/If/Sub/... for given parameter
 *                                 values (default: the parameters' Defaults); resources and
 *                                 pseudo parameters become placeholders like '<Ref X>'
 *   specInfo()                    {file, version, packageVersion}
 *
 * What validateTemplate checks:
 *   - top-level sections, Parameters (types, Default against AllowedValues/AllowedPattern/
 *     Min/MaxValue), Mappings, Conditions (condition functions only), Rules, Outputs;
 *   - every resource Type exists in the spec (Custom::* excepted), resource attributes
 *     (DependsOn, Condition, DeletionPolicy, ...) are valid;
 *   - every property exists for its type, at every nesting level, following property
 *     types, lists and maps of property types (PropertyTypes "<Resource>.<Name>" or
 *     global ones such as "Tag"), and every required property is present at every level;
 *   - primitive types are plausible (string/number/boolean where a primitive is expected,
 *     a list where a list is expected, an object where a property type is expected);
 *     an intrinsic function is accepted where its result kind fits (a !Ref to a List<>
 *     parameter is a list, !Sub a string, !GetAtt takes the attribute's type...), and
 *     both branches of !If are checked against the property's type;
 *   - Ref / GetAtt / Sub targets exist (parameters, resources, pseudo parameters), GetAtt
 *     attributes exist in the spec's Attributes of the resource type, FindInMap maps and
 *     literal keys exist, Conditions referenced (Fn::If, Condition:) exist, references
 *     to a conditional resource are guarded by that condition, dynamic references
 *     ({{resolve:...}}) are well formed, and resources form no dependency cycle;
 *   - references (also returned alone by checkReferences): every Ref / Fn::GetAtt /
 *     Fn::Sub ${...} target exists (in Resources, resource Metadata, Outputs, Conditions,
 *     Rules), every condition named exists, every parameter is used from Resources,
 *     Outputs or Conditions (a use in Rules alone does not count), every condition is
 *     used, and Metadata AWS::CloudFormation::Interface names existing parameters only.
 *     Where a reference to a conditional resource is guarded, the conditions known to
 *     hold are those of the enclosing Fn::If / Condition, the members of their Fn::And,
 *     and in the second branch of Fn::If [c, ...] the conditions defined as !Not [c].
 */
const fs = require('node:fs');
const path = require('node:path');
const yaml = require('js-yaml');

const SPEC_FILE = require.resolve('@aws-cdk/cfnspec/spec/specification.json');
let specCache = null;

/** The parsed specification (cached). */
function loadSpec() {
  if (!specCache) specCache = JSON.parse(fs.readFileSync(SPEC_FILE, 'utf8'));
  return specCache;
}

function specInfo() {
  const pkg = JSON.parse(fs.readFileSync(
    path.join(path.dirname(SPEC_FILE), '..', 'package.json'), 'utf8'));
  return { file: SPEC_FILE, version: loadSpec().ResourceSpecificationVersion, packageVersion: pkg.version };
}

/* ------------------------------------------------------------------ */
/* YAML with CloudFormation short-form tags                           */
/* ------------------------------------------------------------------ */

const SHORT_FORMS = {
  Ref: 'Ref',
  Condition: 'Condition',
  Sub: 'Fn::Sub',
  GetAtt: 'Fn::GetAtt',
  If: 'Fn::If',
  Select: 'Fn::Select',
  Join: 'Fn::Join',
  Split: 'Fn::Split',
  GetAZs: 'Fn::GetAZs',
  Equals: 'Fn::Equals',
  Not: 'Fn::Not',
  And: 'Fn::And',
  Or: 'Fn::Or',
  FindInMap: 'Fn::FindInMap',
  Base64: 'Fn::Base64',
  ImportValue: 'Fn::ImportValue',
  Cidr: 'Fn::Cidr',
  Transform: 'Fn::Transform',
  Length: 'Fn::Length',
  ToJsonString: 'Fn::ToJsonString',
};

function cfnTypes() {
  const types = [];
  for (const [tag, fn] of Object.entries(SHORT_FORMS)) {
    for (const kind of ['scalar', 'sequence', 'mapping']) {
      types.push(new yaml.Type(`!${tag}`, {
        kind,
        construct(data) {
          if (data === null || data === undefined) data = kind === 'sequence' ? [] : kind === 'mapping' ? {} : '';
          if (tag === 'GetAtt' && kind === 'scalar') {
            const dot = data.indexOf('.');
            return { [fn]: dot < 0 ? [data] : [data.slice(0, dot), data.slice(dot + 1)] };
          }
          return { [fn]: data };
        },
      }));
    }
  }
  return types;
}

// CORE_SCHEMA: no timestamps (2010-09-09 stays a string) and no merge keys, as in CloudFormation.
const CFN_SCHEMA = yaml.CORE_SCHEMA.extend(cfnTypes());

/** Parses a template (YAML with short-form tags, or JSON) into its long form. */
function parseTemplate(text) {
  return yaml.load(text, { schema: CFN_SCHEMA });
}

function parseTemplateFile(file) {
  return parseTemplate(fs.readFileSync(file, 'utf8'));
}

/* ------------------------------------------------------------------ */
/* helpers                                                            */
/* ------------------------------------------------------------------ */

const PSEUDO = new Set(['AWS::AccountId', 'AWS::NotificationARNs', 'AWS::NoValue', 'AWS::Partition',
  'AWS::Region', 'AWS::StackId', 'AWS::StackName', 'AWS::URLSuffix']);
const TOP_KEYS = new Set(['AWSTemplateFormatVersion', 'Description', 'Metadata', 'Parameters', 'Rules',
  'Mappings', 'Conditions', 'Transform', 'Resources', 'Outputs']);
const RESOURCE_KEYS = new Set(['Type', 'Properties', 'DependsOn', 'Condition', 'Metadata', 'DeletionPolicy',
  'UpdateReplacePolicy', 'UpdatePolicy', 'CreationPolicy']);
const PARAM_KEYS = new Set(['Type', 'Default', 'AllowedValues', 'AllowedPattern', 'Description',
  'ConstraintDescription', 'MaxLength', 'MinLength', 'MaxValue', 'MinValue', 'NoEcho']);
const OUTPUT_KEYS = new Set(['Description', 'Value', 'Export', 'Condition']);
const AWS_PARAM_TYPES = new Set(['AWS::EC2::AvailabilityZone::Name', 'AWS::EC2::Image::Id',
  'AWS::EC2::Instance::Id', 'AWS::EC2::KeyPair::KeyName', 'AWS::EC2::SecurityGroup::GroupName',
  'AWS::EC2::SecurityGroup::Id', 'AWS::EC2::Subnet::Id', 'AWS::EC2::Volume::Id', 'AWS::EC2::VPC::Id',
  'AWS::Route53::HostedZone::Id']);
const CONDITION_FNS = new Set(['Fn::Equals', 'Fn::Not', 'Fn::And', 'Fn::Or', 'Condition']);
const RULE_FNS = new Set(['Fn::And', 'Fn::Contains', 'Fn::EachMemberEquals', 'Fn::EachMemberIn',
  'Fn::Equals', 'Fn::If', 'Fn::Not', 'Fn::Or', 'Fn::RefAll', 'Fn::ValueOf', 'Fn::ValueOfAll', 'Ref']);
const VALUE_FNS = new Set(['Ref', 'Fn::Base64', 'Fn::Cidr', 'Fn::FindInMap', 'Fn::GetAtt', 'Fn::GetAZs',
  'Fn::If', 'Fn::ImportValue', 'Fn::Join', 'Fn::Select', 'Fn::Split', 'Fn::Sub', 'Fn::Transform',
  'Fn::Length', 'Fn::ToJsonString']);
const LANGUAGE_EXTENSION_FNS = new Set(['Fn::Length', 'Fn::ToJsonString']);

const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const typeOfValue = (v) => (Array.isArray(v) ? 'list' : v === null ? 'null' : typeof v === 'object' ? 'object' : typeof v);

/** [fn, arg] when `v` is an intrinsic function call (one key: Ref, Condition or Fn::*). */
function intrinsicOf(v, { conditionKey = false } = {}) {
  if (!isPlainObject(v)) return null;
  const keys = Object.keys(v);
  if (keys.length !== 1) return null;
  const k = keys[0];
  if (k === 'Ref' || k.startsWith('Fn::') || (conditionKey && k === 'Condition')) return [k, v[k]];
  return null;
}

function isListParamType(type) {
  return typeof type === 'string' && (/^List</.test(type) || type === 'CommaDelimitedList' ||
    /^AWS::SSM::Parameter::Value<(List<.*>|CommaDelimitedList)>$/.test(type));
}

function validParamType(type) {
  if (typeof type !== 'string') return false;
  if (['String', 'Number', 'List<Number>', 'CommaDelimitedList', 'AWS::SSM::Parameter::Name'].includes(type)) return true;
  if (AWS_PARAM_TYPES.has(type)) return true;
  const list = /^List<(.+)>$/.exec(type);
  if (list && AWS_PARAM_TYPES.has(list[1])) return true;
  const ssm = /^AWS::SSM::Parameter::Value<(.+)>$/.exec(type);
  if (ssm) return validParamType(ssm[1]) && !ssm[1].startsWith('AWS::SSM::');
  return false;
}

const SUB_VAR_RE = /\$\{([^}]*)\}/g;

/** Variables of an Fn::Sub string (without ${!Literal} escapes). */
function subVariables(str) {
  const out = [];
  for (const m of str.matchAll(SUB_VAR_RE)) {
    const name = m[1].trim();
    if (!name.startsWith('!')) out.push(name);
  }
  return out;
}

const DYNAMIC_REF_RE = /\{\{resolve:([a-z-]+):([^}]*)\}\}/g;

/* ------------------------------------------------------------------ */
/* validation                                                         */
/* ------------------------------------------------------------------ */

class Validator {
  constructor(template, spec) {
    this.t = template;
    this.spec = spec;
    this.errors = [];
    this.params = isPlainObject(template.Parameters) ? template.Parameters : {};
    this.resources = isPlainObject(template.Resources) ? template.Resources : {};
    this.conditions = isPlainObject(template.Conditions) ? template.Conditions : {};
    this.mappings = isPlainObject(template.Mappings) ? template.Mappings : {};
    const transforms = [].concat(template.Transform || []);
    this.languageExtensions = transforms.includes('AWS::LanguageExtensions');
    this.deps = new Map(); // resource -> Set(resources it depends on)
    this.refErrors = []; // the reference errors among this.errors (checkReferences)
    this.usedParams = new Set(); // parameters referenced from Resources, Outputs or Conditions
    this.usedConditions = new Set(); // conditions referenced anywhere
  }

  err(p, msg) { this.errors.push(`${p}: ${msg}`); }

  /** A reference error: a name that does not exist, or a declaration nothing uses. */
  ref(p, msg) {
    const e = `${p}: ${msg}`;
    this.errors.push(e);
    this.refErrors.push(e);
  }

  run() {
    const t = this.t;
    if (!isPlainObject(t)) { this.err('(template)', 'is not an object'); return this.errors; }
    for (const k of Object.keys(t)) if (!TOP_KEYS.has(k)) this.err(k, 'unknown top-level section');
    if (t.AWSTemplateFormatVersion !== undefined && t.AWSTemplateFormatVersion !== '2010-09-09') {
      this.err('AWSTemplateFormatVersion', `must be '2010-09-09', not ${JSON.stringify(t.AWSTemplateFormatVersion)}`);
    }
    if (!isPlainObject(t.Resources) || Object.keys(t.Resources).length === 0) {
      this.err('Resources', 'is required and must not be empty');
    }
    this.checkParameters();
    this.checkMappings();
    this.checkConditions();
    this.checkRules();
    for (const [name, res] of Object.entries(this.resources)) this.checkResource(name, res);
    this.checkOutputs();
    this.checkInterface();
    this.checkUsage();
    this.checkCycles();
    return this.errors;
  }

  /** Metadata AWS::CloudFormation::Interface names existing parameters only. */
  checkInterface() {
    const md = this.t.Metadata;
    const iface = isPlainObject(md) ? md['AWS::CloudFormation::Interface'] : undefined;
    if (!isPlainObject(iface)) return;
    const at = 'Metadata.AWS::CloudFormation::Interface';
    const known = (name) => Object.prototype.hasOwnProperty.call(this.params, name);
    (Array.isArray(iface.ParameterGroups) ? iface.ParameterGroups : []).forEach((g, i) => {
      (isPlainObject(g) && Array.isArray(g.Parameters) ? g.Parameters : []).forEach((name, j) => {
        if (!known(name)) this.ref(`${at}.ParameterGroups[${i}].Parameters[${j}]`, `parameter ${JSON.stringify(name)} does not exist`);
      });
    });
    for (const name of Object.keys(isPlainObject(iface.ParameterLabels) ? iface.ParameterLabels : {})) {
      if (!known(name)) this.ref(`${at}.ParameterLabels.${name}`, `parameter ${JSON.stringify(name)} does not exist`);
    }
  }

  /** Every parameter is used (Rules alone do not count) and every condition is. */
  checkUsage() {
    for (const name of Object.keys(this.params)) {
      if (!this.usedParams.has(name)) this.ref(`Parameters.${name}`, 'is never used: no Ref or ${...} of it in Resources, Outputs or Conditions');
    }
    for (const name of Object.keys(this.conditions)) {
      if (!this.usedConditions.has(name)) this.ref(`Conditions.${name}`, 'is never used: no resource, output, Fn::If or condition refers to it');
    }
  }

  /**
   * Conditions known to be true where `c` is: c itself, and the members of c's Fn::And
   * ({Condition: x} operands), recursively.
   */
  impliedBy(c, out = new Set()) {
    if (typeof c !== 'string' || out.has(c)) return out;
    out.add(c);
    const fn = intrinsicOf(this.conditions[c], { conditionKey: true });
    if (fn && fn[0] === 'Fn::And' && Array.isArray(fn[1])) {
      for (const x of fn[1]) {
        const inner = intrinsicOf(x, { conditionKey: true });
        if (inner && inner[0] === 'Condition') this.impliedBy(inner[1], out);
      }
    }
    return out;
  }

  /** `ctx` where condition `c` holds too (the first branch of Fn::If [c, ...]). */
  withCondition(ctx, c) {
    return { ...ctx, conds: new Set([...ctx.conds, ...this.impliedBy(c)]) };
  }

  /**
   * `ctx` where condition `c` is false (the second branch of Fn::If [c, ...]): a condition
   * defined as !Not [!Condition c] holds, and when c is !Not [!Condition d], d holds.
   */
  withNegation(ctx, c) {
    const implied = new Set(ctx.conds);
    const notOf = (def) => {
      const fn = intrinsicOf(def, { conditionKey: true });
      if (!fn || fn[0] !== 'Fn::Not' || !Array.isArray(fn[1]) || fn[1].length !== 1) return null;
      const inner = intrinsicOf(fn[1][0], { conditionKey: true });
      return inner && inner[0] === 'Condition' ? inner[1] : null;
    };
    for (const [name, def] of Object.entries(this.conditions)) {
      if (notOf(def) === c) for (const x of this.impliedBy(name)) implied.add(x);
    }
    const d = notOf(this.conditions[c]);
    if (d) for (const x of this.impliedBy(d)) implied.add(x);
    return implied.size === ctx.conds.size ? ctx : { ...ctx, conds: implied };
  }

  /* ---------------- sections ---------------- */

  checkParameters() {
    for (const [name, p] of Object.entries(this.params)) {
      const at = `Parameters.${name}`;
      if (!/^[A-Za-z0-9]+$/.test(name)) this.err(at, 'parameter names must be alphanumeric');
      if (!isPlainObject(p)) { this.err(at, 'must be an object'); continue; }
      for (const k of Object.keys(p)) if (!PARAM_KEYS.has(k)) this.err(`${at}.${k}`, 'unknown parameter attribute');
      if (!validParamType(p.Type)) { this.err(`${at}.Type`, `invalid parameter type ${JSON.stringify(p.Type)}`); continue; }
      if (p.Default === undefined) continue;
      const def = String(p.Default);
      if (p.AllowedValues !== undefined) {
        if (!Array.isArray(p.AllowedValues)) this.err(`${at}.AllowedValues`, 'must be a list');
        else if (!isListParamType(p.Type) && !p.AllowedValues.map(String).includes(def)) {
          this.err(`${at}.Default`, `${JSON.stringify(def)} is not one of AllowedValues`);
        }
      }
      if (p.AllowedPattern !== undefined && !isListParamType(p.Type)) {
        let re = null;
        try { re = new RegExp(`^(?:${p.AllowedPattern})$`); } catch (e) { this.err(`${at}.AllowedPattern`, `bad regex: ${e.message}`); }
        if (re && !re.test(def)) this.err(`${at}.Default`, `${JSON.stringify(def)} does not match AllowedPattern`);
      }
      if (p.Type === 'Number') {
        const n = Number(def);
        if (def.trim() === '' || Number.isNaN(n)) this.err(`${at}.Default`, `${JSON.stringify(def)} is not a number`);
        if (p.MinValue !== undefined && n < Number(p.MinValue)) this.err(`${at}.Default`, `below MinValue ${p.MinValue}`);
        if (p.MaxValue !== undefined && n > Number(p.MaxValue)) this.err(`${at}.Default`, `above MaxValue ${p.MaxValue}`);
      }
      if (p.MinLength !== undefined && def.length < Number(p.MinLength)) this.err(`${at}.Default`, 'shorter than MinLength');
      if (p.MaxLength !== undefined && def.length > Number(p.MaxLength)) this.err(`${at}.Default`, 'longer than MaxLength');
    }
  }

  checkMappings() {
    for (const [name, map] of Object.entries(this.mappings)) {
      const at = `Mappings.${name}`;
      if (!/^[A-Za-z0-9]+$/.test(name)) this.err(at, 'mapping names must be alphanumeric');
      if (!isPlainObject(map)) { this.err(at, 'must be an object'); continue; }
      for (const [k, v] of Object.entries(map)) {
        if (!isPlainObject(v)) this.err(`${at}.${k}`, 'must be an object of second-level keys');
      }
    }
  }

  checkConditions() {
    for (const [name, c] of Object.entries(this.conditions)) {
      const at = `Conditions.${name}`;
      const fn = intrinsicOf(c, { conditionKey: true });
      if (!fn || !CONDITION_FNS.has(fn[0])) { this.err(at, 'must be a condition function (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition)'); continue; }
      this.walk(c, { section: 'conditions', conds: new Set() }, at);
    }
  }

  checkRules() {
    const rules = this.t.Rules;
    if (rules === undefined) return;
    if (!isPlainObject(rules)) { this.err('Rules', 'must be an object'); return; }
    for (const [name, r] of Object.entries(rules)) {
      const at = `Rules.${name}`;
      if (!isPlainObject(r)) { this.err(at, 'must be an object'); continue; }
      for (const k of Object.keys(r)) if (!['RuleCondition', 'Assertions'].includes(k)) this.err(`${at}.${k}`, 'unknown rule attribute');
      const ctx = { section: 'rules', conds: new Set() };
      if (r.RuleCondition !== undefined) this.walk(r.RuleCondition, ctx, `${at}.RuleCondition`);
      if (!Array.isArray(r.Assertions) || r.Assertions.length === 0) { this.err(`${at}.Assertions`, 'is required (a non-empty list)'); continue; }
      r.Assertions.forEach((a, i) => {
        const ap = `${at}.Assertions[${i}]`;
        if (!isPlainObject(a) || a.Assert === undefined) { this.err(ap, 'needs Assert'); return; }
        for (const k of Object.keys(a)) if (!['Assert', 'AssertDescription'].includes(k)) this.err(`${ap}.${k}`, 'unknown assertion attribute');
        this.walk(a.Assert, ctx, `${ap}.Assert`);
      });
    }
  }

  checkOutputs() {
    const outputs = this.t.Outputs;
    if (outputs === undefined) return;
    if (!isPlainObject(outputs)) { this.err('Outputs', 'must be an object'); return; }
    for (const [name, o] of Object.entries(outputs)) {
      const at = `Outputs.${name}`;
      if (!isPlainObject(o)) { this.err(at, 'must be an object'); continue; }
      for (const k of Object.keys(o)) if (!OUTPUT_KEYS.has(k)) this.err(`${at}.${k}`, 'unknown output attribute');
      const conds = new Set();
      if (o.Condition !== undefined) {
        if (!this.conditionExists(o.Condition)) this.ref(`${at}.Condition`, `condition ${JSON.stringify(o.Condition)} is not defined`);
        else for (const c of this.impliedBy(o.Condition)) conds.add(c);
      }
      if (o.Value === undefined) this.err(`${at}.Value`, 'is required');
      else this.checkValue(o.Value, { PrimitiveType: 'String' }, { section: 'outputs', conds }, `${at}.Value`, { listOk: true });
      if (o.Export !== undefined) {
        if (!isPlainObject(o.Export) || o.Export.Name === undefined) this.err(`${at}.Export`, 'needs Name');
        else this.checkValue(o.Export.Name, { PrimitiveType: 'String' }, { section: 'outputs', conds }, `${at}.Export.Name`);
      }
    }
  }

  conditionExists(name) {
    const ok = typeof name === 'string' && Object.prototype.hasOwnProperty.call(this.conditions, name);
    if (ok) this.usedConditions.add(name);
    return ok;
  }

  /* ---------------- resources ---------------- */

  checkResource(name, res) {
    const at = `Resources.${name}`;
    if (!/^[A-Za-z0-9]+$/.test(name)) this.err(at, 'logical IDs must be alphanumeric');
    if (Object.prototype.hasOwnProperty.call(this.params, name)) this.err(at, 'has the same name as a parameter');
    this.deps.set(name, new Set());
    if (!isPlainObject(res)) { this.err(at, 'must be an object'); return; }
    for (const k of Object.keys(res)) if (!RESOURCE_KEYS.has(k)) this.err(`${at}.${k}`, 'unknown resource attribute');
    const conds = new Set();
    if (res.Condition !== undefined) {
      if (!this.conditionExists(res.Condition)) this.ref(`${at}.Condition`, `condition ${JSON.stringify(res.Condition)} is not defined`);
      else for (const c of this.impliedBy(res.Condition)) conds.add(c);
    }
    if (res.DependsOn !== undefined) {
      const list = Array.isArray(res.DependsOn) ? res.DependsOn : [res.DependsOn];
      list.forEach((d, i) => {
        const dp = `${at}.DependsOn${Array.isArray(res.DependsOn) ? `[${i}]` : ''}`;
        if (typeof d !== 'string') this.err(dp, 'must be a resource name');
        else if (d === name) this.err(dp, 'a resource cannot depend on itself');
        else if (!Object.prototype.hasOwnProperty.call(this.resources, d)) this.ref(dp, `resource ${d} does not exist`);
        else {
          this.deps.get(name).add(d);
          this.checkConditionalTarget(d, conds, dp);
        }
      });
    }
    for (const [k, allowed] of [['DeletionPolicy', ['Delete', 'Retain', 'RetainExceptOnCreate', 'Snapshot']],
      ['UpdateReplacePolicy', ['Delete', 'Retain', 'Snapshot']]]) {
      if (res[k] !== undefined && !allowed.includes(res[k])) this.err(`${at}.${k}`, `must be one of ${allowed.join(', ')}`);
    }
    const type = res.Type;
    if (typeof type !== 'string') { this.err(`${at}.Type`, 'is required'); return; }
    const ctx = { section: 'resources', conds, resource: name };
    // Intrinsics in a resource's Metadata are resolved too (and make dependencies).
    if (res.Metadata !== undefined) this.walk(res.Metadata, ctx, `${at}.Metadata`);
    if (type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource') {
      if (!isPlainObject(res.Properties) || res.Properties.ServiceToken === undefined) {
        this.err(`${at}.Properties.ServiceToken`, 'is required for a custom resource');
      }
      if (res.Properties !== undefined) this.walk(res.Properties, ctx, `${at}.Properties`);
      return;
    }
    const rspec = this.spec.ResourceTypes[type];
    if (!rspec) {
      this.err(`${at}.Type`, `unknown resource type ${type}`);
      if (res.Properties !== undefined) this.walk(res.Properties, ctx, `${at}.Properties`); // its references still count
      return;
    }
    if (res.Properties !== undefined && !isPlainObject(res.Properties)) {
      this.err(`${at}.Properties`, 'must be an object');
      return;
    }
    this.checkObject(res.Properties || {}, rspec.Properties || {}, type, type, ctx, `${at}.Properties`);
  }

  /** The definition of property type `name` used inside `resourceType`. */
  propertyType(resourceType, name) {
    return this.spec.PropertyTypes[`${resourceType}.${name}`] || this.spec.PropertyTypes[name] || null;
  }

  checkObject(obj, props, typeName, resourceType, ctx, at) {
    for (const [k, v] of Object.entries(obj)) {
      const pspec = props[k];
      if (!pspec) { this.err(`${at}.${k}`, `unknown property ${k} of ${typeName}`); continue; }
      this.checkValue(v, pspec, ctx, `${at}.${k}`, { resourceType });
    }
    for (const [k, pspec] of Object.entries(props)) {
      if (pspec.Required && obj[k] === undefined) this.err(`${at}.${k}`, `missing required property ${k} of ${typeName}`);
    }
  }

  /**
   * Checks `v` against a property specification: PrimitiveType, Type List/Map with
   * ItemType/PrimitiveItemType, a property type name, or a union (PrimitiveTypes/Types).
   */
  checkValue(v, pspec, ctx, at, { resourceType = null, listOk = false } = {}) {
    if (pspec.PrimitiveTypes || pspec.Types || pspec.PrimitiveItemTypes || pspec.ItemTypes) {
      return this.checkUnion(v, pspec, ctx, at, resourceType);
    }
    const fn = intrinsicOf(v);
    if (fn) return this.checkIntrinsicValue(fn, v, pspec, ctx, at, resourceType, listOk);
    if (pspec.Type === 'List') {
      if (!Array.isArray(v)) { this.err(at, `expected a list, got ${typeOfValue(v)}`); return; }
      const item = pspec.ItemType ? { Type: pspec.ItemType } : { PrimitiveType: pspec.PrimitiveItemType || 'Json' };
      v.forEach((x, i) => this.checkValue(x, item, ctx, `${at}[${i}]`, { resourceType }));
      return;
    }
    if (pspec.Type === 'Map') {
      if (!isPlainObject(v)) { this.err(at, `expected a map (object), got ${typeOfValue(v)}`); return; }
      const item = pspec.ItemType ? { Type: pspec.ItemType } : { PrimitiveType: pspec.PrimitiveItemType || 'Json' };
      for (const [k, x] of Object.entries(v)) this.checkValue(x, item, ctx, `${at}.${k}`, { resourceType });
      return;
    }
    if (pspec.PrimitiveType) return this.checkPrimitive(v, pspec.PrimitiveType, ctx, at, listOk);
    if (pspec.Type) {
      const def = this.propertyType(resourceType, pspec.Type);
      if (!def) { this.err(at, `the spec has no property type ${pspec.Type} (of ${resourceType})`); return; }
      if (!def.Properties) return this.checkValue(v, def, ctx, at, { resourceType }); // an alias type
      if (!isPlainObject(v)) { this.err(at, `expected an object of type ${pspec.Type}, got ${typeOfValue(v)}`); return; }
      this.checkObject(v, def.Properties, `${resourceType}.${pspec.Type}`, resourceType, ctx, at);
      return;
    }
    this.walk(v, ctx, at); // an unspecified type: only the intrinsics
  }

  checkUnion(v, pspec, ctx, at, resourceType) {
    const options = [];
    for (const p of pspec.PrimitiveTypes || []) options.push({ PrimitiveType: p });
    for (const t of pspec.Types || []) options.push({ Type: t });
    if (pspec.PrimitiveItemTypes || pspec.ItemTypes) {
      for (const p of pspec.PrimitiveItemTypes || []) options.push({ Type: pspec.Type || 'List', PrimitiveItemType: p });
      for (const t of pspec.ItemTypes || []) options.push({ Type: pspec.Type || 'List', ItemType: t });
    }
    let best = null;
    for (const opt of options) {
      const saved = this.errors;
      this.errors = [];
      this.checkValue(v, opt, ctx, at, { resourceType });
      const errs = this.errors;
      this.errors = saved;
      if (errs.length === 0) return;
      if (!best || errs.length < best.length) best = errs;
    }
    if (best) this.errors.push(...best);
  }

  checkPrimitive(v, prim, ctx, at, listOk = false) {
    const kind = typeOfValue(v);
    if (prim === 'Json') { this.walk(v, ctx, at); return; }
    if (kind === 'list' && listOk) { v.forEach((x, i) => this.checkPrimitive(x, prim, ctx, `${at}[${i}]`)); return; }
    if (kind === 'object' || kind === 'list' || kind === 'null') {
      this.err(at, `expected a ${prim}, got ${kind}`);
      if (kind !== 'null') this.walk(v, ctx, at);
      return;
    }
    const s = String(v);
    switch (prim) {
      case 'String':
      case 'Timestamp':
        if (kind === 'string') this.checkDynamicRefs(s, at);
        return;
      case 'Integer':
      case 'Long':
        if (!(kind === 'number' ? Number.isInteger(v) : /^-?\d+$/.test(s))) this.err(at, `expected an ${prim}, got ${JSON.stringify(v)}`);
        return;
      case 'Double':
        if (kind === 'boolean' || s.trim() === '' || Number.isNaN(Number(s))) this.err(at, `expected a Double, got ${JSON.stringify(v)}`);
        return;
      case 'Boolean':
        if (!(kind === 'boolean' || /^(true|false)$/i.test(s))) this.err(at, `expected a Boolean, got ${JSON.stringify(v)}`);
        return;
      default:
        this.err(at, `unknown primitive type ${prim} in the spec`);
    }
  }

  checkDynamicRefs(s, at) {
    if (!s.includes('{{resolve:')) return;
    const found = [...s.matchAll(DYNAMIC_REF_RE)];
    if (found.length !== s.split('{{resolve:').length - 1) { this.err(at, 'malformed dynamic reference {{resolve:...}}'); return; }
    for (const [, service, rest] of found) {
      if (!['ssm', 'ssm-secure', 'secretsmanager'].includes(service)) this.err(at, `unknown dynamic reference service ${service}`);
      if (rest.trim() === '') this.err(at, 'empty dynamic reference');
      if (service === 'secretsmanager') {
        // secret-id[:SecretString[:json-key[:version-stage[:version-id]]]]; an ARN has 7 fields of its own
        const parts = rest.split(':');
        const idParts = parts[0] === 'arn' ? 7 : 1;
        const tail = parts.slice(idParts);
        if (tail.length > 4 || (tail.length > 0 && tail[0] !== 'SecretString')) {
          this.err(at, `dynamic reference {{resolve:secretsmanager:${rest}}} is not secret-id:SecretString:json-key:version-stage:version-id`);
        }
      }
    }
  }

  /* ---------------- intrinsic functions ---------------- */

  /** Kind of the value an intrinsic produces: 'list', 'scalar' or 'any'. */
  resultKind(fn, arg) {
    switch (fn) {
      case 'Ref': {
        if (typeof arg !== 'string') return 'any';
        if (arg === 'AWS::NotificationARNs') return 'list';
        const p = this.params[arg];
        if (p) return isListParamType(p.Type) ? 'list' : 'scalar';
        return 'scalar';
      }
      case 'Fn::GetAtt': {
        const [res, attr] = this.getAttParts(arg);
        const r = res && this.resources[res];
        const a = r && typeof attr === 'string' && this.spec.ResourceTypes[r.Type]?.Attributes?.[attr];
        if (!a) return 'any';
        return a.Type === 'List' ? 'list' : 'scalar';
      }
      case 'Fn::Split': case 'Fn::GetAZs': case 'Fn::Cidr': return 'list';
      case 'Fn::Sub': case 'Fn::Join': case 'Fn::Base64': case 'Fn::ImportValue': case 'Fn::Select':
      case 'Fn::Length': case 'Fn::ToJsonString': return 'scalar';
      default: return 'any';
    }
  }

  getAttParts(arg) {
    if (typeof arg === 'string') {
      const dot = arg.indexOf('.');
      return dot < 0 ? [arg, undefined] : [arg.slice(0, dot), arg.slice(dot + 1)];
    }
    if (Array.isArray(arg)) return [arg[0], arg[1]];
    return [undefined, undefined];
  }

  checkIntrinsicValue([fn, arg], v, pspec, ctx, at, resourceType, listOk) {
    if (fn === 'Fn::If') {
      if (!this.checkIfShape(arg, ctx, at)) return;
      const [cond, whenTrue, whenFalse] = arg;
      const withCond = this.withCondition(ctx, cond);
      this.checkBranch(whenTrue, pspec, withCond, `${at}[Fn::If][1]`, resourceType, listOk);
      this.checkBranch(whenFalse, pspec, this.withNegation(ctx, cond), `${at}[Fn::If][2]`, resourceType, listOk);
      return;
    }
    this.walk(v, ctx, at);
    const kind = this.resultKind(fn, arg);
    if (kind === 'any' || pspec.PrimitiveType === 'Json') return;
    const wantsList = pspec.Type === 'List';
    const wantsObject = !wantsList && !pspec.PrimitiveType; // Map or a property type
    if (wantsList && kind === 'scalar') this.err(at, `expected a list, but ${fn} gives a single value`);
    else if (wantsObject && kind !== 'any') this.err(at, `expected an object${pspec.Type && pspec.Type !== 'Map' ? ` of type ${pspec.Type}` : ''}, but ${fn} gives a ${kind === 'list' ? 'list' : 'single value'}`);
    else if (!wantsList && !wantsObject && kind === 'list' && !listOk) this.err(at, `expected a ${pspec.PrimitiveType}, but ${fn} gives a list`);
  }

  checkBranch(v, pspec, ctx, at, resourceType, listOk) {
    const fn = intrinsicOf(v);
    if (fn && fn[0] === 'Ref' && fn[1] === 'AWS::NoValue') return; // the property is left out
    this.checkValue(v, pspec, ctx, at, { resourceType, listOk });
  }

  checkIfShape(arg, ctx, at) {
    if (!Array.isArray(arg) || arg.length !== 3) { this.err(at, 'Fn::If takes [condition, value_if_true, value_if_false]'); return false; }
    if (!this.conditionExists(arg[0])) { this.ref(`${at}[Fn::If][0]`, `condition ${JSON.stringify(arg[0])} is not defined`); return false; }
    return true;
  }

  /** A reference from a place guarded by `conds` to resource `target`. */
  checkConditionalTarget(target, conds, at) {
    const r = this.resources[target];
    const c = r && r.Condition;
    if (typeof c === 'string' && !conds.has(c)) {
      this.ref(at, `refers to ${target}, which exists only when condition ${c} is true, outside Fn::If [${c}, ...] or a resource/output with Condition ${c}`);
    }
  }

  refTarget(name, ctx, at) {
    if (typeof name !== 'string') { this.err(at, 'Ref takes a name'); return; }
    if (PSEUDO.has(name)) return;
    if (Object.prototype.hasOwnProperty.call(this.params, name)) {
      if (ctx.section !== 'rules') this.usedParams.add(name);
      return;
    }
    if (ctx.section !== 'conditions' && ctx.section !== 'rules' && Object.prototype.hasOwnProperty.call(this.resources, name)) {
      this.addDep(ctx, name);
      this.checkConditionalTarget(name, ctx.conds, at);
      return;
    }
    this.ref(at, `Ref to ${name}, which is no ${ctx.section === 'conditions' || ctx.section === 'rules' ? 'parameter' : 'parameter or resource'}`);
  }

  getAttTarget(res, attr, ctx, at) {
    if (ctx.section === 'conditions' || ctx.section === 'rules') { this.err(at, 'Fn::GetAtt is not allowed here'); return; }
    if (typeof res !== 'string' || !Object.prototype.hasOwnProperty.call(this.resources, res)) {
      this.ref(at, `Fn::GetAtt of ${JSON.stringify(res)}, which is no resource`);
      return;
    }
    this.addDep(ctx, res);
    this.checkConditionalTarget(res, ctx.conds, at);
    if (typeof attr !== 'string') return; // computed attribute name
    const type = this.resources[res].Type;
    if (typeof type !== 'string' || type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource') return;
    if (type === 'AWS::CloudFormation::Stack' && attr.startsWith('Outputs.')) return;
    const rspec = this.spec.ResourceTypes[type];
    if (!rspec) return; // reported on the resource
    if (!rspec.Attributes || !rspec.Attributes[attr]) {
      const known = Object.keys(rspec.Attributes || {});
      this.ref(at, `${type} has no attribute ${attr} (attributes: ${known.length ? known.join(', ') : 'none'})`);
    }
  }

  addDep(ctx, target) {
    if (ctx.resource && target !== ctx.resource) this.deps.get(ctx.resource).add(target);
    else if (ctx.resource && target === ctx.resource) this.err(`Resources.${ctx.resource}`, 'refers to itself');
  }

  /** Walks any value, checking every intrinsic function in it. */
  walk(v, ctx, at) {
    if (Array.isArray(v)) { v.forEach((x, i) => this.walk(x, ctx, `${at}[${i}]`)); return; }
    if (typeof v === 'string') { this.checkDynamicRefs(v, at); return; }
    if (!isPlainObject(v)) return;
    const fn = intrinsicOf(v, { conditionKey: ctx.section === 'conditions' || ctx.section === 'rules' });
    if (!fn) { for (const [k, x] of Object.entries(v)) this.walk(x, ctx, `${at}.${k}`); return; }
    this.checkFunction(fn[0], fn[1], ctx, `${at}.${fn[0]}`);
  }

  checkFunction(fn, arg, ctx, at) {
    const { section } = ctx;
    const allowed = section === 'conditions' ? new Set([...CONDITION_FNS, 'Ref', 'Fn::FindInMap', 'Fn::Sub', 'Fn::Join', 'Fn::Select', 'Fn::Split', 'Fn::Base64', 'Fn::GetAZs'])
      : section === 'rules' ? RULE_FNS : VALUE_FNS;
    if (!allowed.has(fn)) {
      const known = VALUE_FNS.has(fn) || CONDITION_FNS.has(fn) || RULE_FNS.has(fn);
      this.err(at, known ? `${fn} is not allowed in ${section}` : `unknown intrinsic function ${fn}`);
      return;
    }
    if (LANGUAGE_EXTENSION_FNS.has(fn) && !this.languageExtensions) this.err(at, `${fn} needs Transform: AWS::LanguageExtensions`);
    const list = (n, what) => {
      if (!Array.isArray(arg) || (n !== null && arg.length !== n)) { this.err(at, `${fn} takes ${what}`); return false; }
      return true;
    };
    switch (fn) {
      case 'Ref': this.refTarget(arg, ctx, at); return;
      case 'Condition':
        if (!this.conditionExists(arg)) this.ref(at, `condition ${JSON.stringify(arg)} is not defined`);
        return;
      case 'Fn::GetAtt': {
        if (typeof arg === 'string' ? !arg.includes('.') : !list(2, '[resource, attribute]')) {
          if (typeof arg === 'string') this.err(at, 'Fn::GetAtt takes "Resource.Attribute"');
          return;
        }
        const [res, attr] = this.getAttParts(arg);
        if (isPlainObject(attr)) this.walk(attr, ctx, `${at}[1]`);
        this.getAttTarget(res, attr, ctx, at);
        return;
      }
      case 'Fn::Sub': {
        let str = arg;
        let vars = {};
        if (Array.isArray(arg)) {
          if (arg.length !== 2 || typeof arg[0] !== 'string' || !isPlainObject(arg[1])) { this.err(at, 'Fn::Sub takes a string or [string, {variables}]'); return; }
          [str, vars] = arg;
          for (const [k, x] of Object.entries(vars)) this.walk(x, ctx, `${at}[1].${k}`);
        } else if (typeof arg !== 'string') { this.err(at, 'Fn::Sub takes a string or [string, {variables}]'); return; }
        this.checkDynamicRefs(str.replace(SUB_VAR_RE, 'SUBSTITUTED'), at);
        for (const name of subVariables(str)) {
          if (Object.prototype.hasOwnProperty.call(vars, name)) continue;
          if (name.includes('.') && !PSEUDO.has(name)) {
            const dot = name.indexOf('.');
            this.getAttTarget(name.slice(0, dot), name.slice(dot + 1), ctx, `${at} \${${name}}`);
          } else {
            this.refTarget(name, ctx, `${at} \${${name}}`);
          }
        }
        return;
      }
      case 'Fn::If':
        if (!this.checkIfShape(arg, ctx, at)) return;
        this.walk(arg[1], this.withCondition(ctx, arg[0]), `${at}[1]`);
        this.walk(arg[2], this.withNegation(ctx, arg[0]), `${at}[2]`);
        return;
      case 'Fn::Join':
        if (!list(2, '[delimiter, [values]]')) return;
        if (typeof arg[0] !== 'string') this.err(`${at}[0]`, 'the delimiter must be a string');
        if (!Array.isArray(arg[1]) && !intrinsicOf(arg[1])) this.err(`${at}[1]`, 'must be a list');
        this.walk(arg[1], ctx, `${at}[1]`);
        return;
      case 'Fn::Select':
        if (!list(2, '[index, list]')) return;
        this.walk(arg, ctx, at);
        return;
      case 'Fn::Split':
        if (!list(2, '[delimiter, string]')) return;
        this.walk(arg, ctx, at);
        return;
      case 'Fn::FindInMap': {
        if (!list(null, '[MapName, TopLevelKey, SecondLevelKey]') || (arg.length !== 3 && arg.length !== 4)) {
          if (Array.isArray(arg)) this.err(at, 'Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey]');
          return;
        }
        this.walk(arg, ctx, at);
        const [map, k1, k2] = arg;
        if (typeof map !== 'string') return;
        const m = this.mappings[map];
        if (!isPlainObject(m)) { this.ref(at, `mapping ${map} is not defined`); return; }
        if (typeof k1 === 'string' && !isPlainObject(m[k1])) { this.ref(at, `mapping ${map} has no key ${k1}`); return; }
        if (typeof k2 === 'string') {
          const firsts = typeof k1 === 'string' ? [m[k1]] : Object.values(m);
          for (const f of firsts) if (isPlainObject(f) && !(k2 in f)) this.ref(at, `mapping ${map} has no second-level key ${k2} under every top-level key`);
        }
        return;
      }
      case 'Fn::GetAZs':
        if (typeof arg !== 'string' && !intrinsicOf(arg)) this.err(at, 'Fn::GetAZs takes a region name');
        this.walk(arg, ctx, at);
        return;
      case 'Fn::Cidr':
        if (!list(3, '[ipBlock, count, cidrBits]')) return;
        this.walk(arg, ctx, at);
        return;
      case 'Fn::Equals':
        if (!list(2, '[value1, value2]')) return;
        this.walk(arg, ctx, at);
        return;
      case 'Fn::Not':
        if (!list(1, '[condition]')) return;
        this.walkCondition(arg[0], ctx, `${at}[0]`);
        return;
      case 'Fn::And':
      case 'Fn::Or':
        if (!Array.isArray(arg) || arg.length < 2 || arg.length > 10) { this.err(at, `${fn} takes 2 to 10 conditions`); return; }
        arg.forEach((c, i) => this.walkCondition(c, ctx, `${at}[${i}]`));
        return;
      case 'Fn::Contains':
      case 'Fn::EachMemberEquals':
      case 'Fn::EachMemberIn':
      case 'Fn::ValueOf':
        if (!list(2, 'two arguments')) return;
        if (fn === 'Fn::ValueOf' && (typeof arg[0] !== 'string' || !this.params[arg[0]])) this.ref(at, `Fn::ValueOf of ${JSON.stringify(arg[0])}, which is no parameter`);
        this.walk(arg, ctx, at);
        return;
      case 'Fn::ValueOfAll':
        if (!list(2, '[parameter type, attribute]')) return;
        if (!validParamType(arg[0])) this.err(at, `Fn::ValueOfAll of ${JSON.stringify(arg[0])}, which is no AWS parameter type`);
        return;
      case 'Fn::RefAll':
        if (!validParamType(arg)) this.err(at, `Fn::RefAll of ${JSON.stringify(arg)}, which is no AWS parameter type`);
        return;
      default: // Fn::Base64, Fn::ImportValue, Fn::Transform, Fn::Length, Fn::ToJsonString
        this.walk(arg, ctx, at);
    }
  }

  /** A condition operand: a condition function (or {Condition: name}). */
  walkCondition(c, ctx, at) {
    const fn = intrinsicOf(c, { conditionKey: true });
    if (!fn || !(CONDITION_FNS.has(fn[0]) || (ctx.section === 'rules' && RULE_FNS.has(fn[0])))) {
      this.err(at, 'must be a condition (Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition)');
      return;
    }
    this.checkFunction(fn[0], fn[1], ctx, `${at}.${fn[0]}`);
  }

  /* ---------------- dependency cycles ---------------- */

  checkCycles() {
    const state = new Map(); // 1 visiting, 2 done
    const stack = [];
    const reported = new Set();
    const visit = (n) => {
      state.set(n, 1);
      stack.push(n);
      for (const d of this.deps.get(n) || []) {
        if (!this.deps.has(d)) continue;
        if (state.get(d) === 1) {
          const cycle = stack.slice(stack.indexOf(d)).concat(d);
          const key = [...cycle].sort().join();
          if (!reported.has(key)) { reported.add(key); this.err('Resources', `circular dependency: ${cycle.join(' -> ')}`); }
        } else if (!state.get(d)) visit(d);
      }
      stack.pop();
      state.set(n, 2);
    };
    for (const n of this.deps.keys()) if (!state.get(n)) visit(n);
  }
}

/** Validates a parsed template; returns a list of "path: message" errors. */
function validateTemplate(template, { spec = loadSpec() } = {}) {
  return new Validator(template, spec).run();
}

/**
 * The reference errors only (a subset of validateTemplate's): every Ref, Fn::GetAtt and
 * Fn::Sub ${...} names a parameter, a resource, a pseudo parameter, or an attribute the
 * specification lists for that resource type; every condition referenced exists; every
 * parameter is used from Resources, Outputs or Conditions; every condition is used; the
 * parameter groups and labels of AWS::CloudFormation::Interface name existing parameters.
 */
function checkReferences(template, { spec = loadSpec() } = {}) {
  const v = new Validator(template, spec);
  v.run();
  return v.refErrors;
}

/* ------------------------------------------------------------------ */
/* evaluation under parameter values (for tests of specific settings)  */
/* ------------------------------------------------------------------ */

const NO_VALUE = Symbol('AWS::NoValue');

/**
 * Resolves the intrinsics of `value` for the given parameter values (the parameters'
 * Defaults otherwise). Refs to resources and pseudo parameters and GetAtts become
 * placeholders: '<Ref Name>', '<AWS::Region>', '<GetAtt Res.Attr>'; Fn::Sub keeps
 * them in its output as ${Name} / ${Res.Attr}.
 */
function evaluate(value, template, { parameters = {} } = {}) {
  const params = template.Parameters || {};
  const paramValue = (name) => {
    if (Object.prototype.hasOwnProperty.call(parameters, name)) return parameters[name];
    const p = params[name];
    if (!p) return undefined;
    if (p.Default === undefined) return `<Parameter ${name}>`;
    return isListParamType(p.Type) && typeof p.Default === 'string' ? p.Default.split(',') : p.Default;
  };
  const condCache = new Map();
  const cond = (name) => {
    if (!condCache.has(name)) condCache.set(name, Boolean(ev((template.Conditions || {})[name], true)));
    return condCache.get(name);
  };
  const ev = (v, inCondition = false) => {
    if (Array.isArray(v)) return v.map((x) => ev(x, inCondition)).filter((x) => x !== NO_VALUE);
    if (!isPlainObject(v)) return v;
    const fn = intrinsicOf(v, { conditionKey: inCondition });
    if (!fn) {
      const out = {};
      for (const [k, x] of Object.entries(v)) {
        const r = ev(x, inCondition);
        if (r !== NO_VALUE) out[k] = r;
      }
      return out;
    }
    const [f, a] = fn;
    switch (f) {
      case 'Ref':
        if (a === 'AWS::NoValue') return NO_VALUE;
        if (PSEUDO.has(a)) return `<${a}>`;
        if (Object.prototype.hasOwnProperty.call(params, a)) return paramValue(a);
        return `<Ref ${a}>`;
      case 'Condition': return cond(a);
      case 'Fn::If': return cond(a[0]) ? ev(a[1], inCondition) : ev(a[2], inCondition);
      case 'Fn::Equals': return String(ev(a[0], true)) === String(ev(a[1], true));
      case 'Fn::Not': return !ev(a[0], true);
      case 'Fn::And': return a.every((c) => ev(c, true));
      case 'Fn::Or': return a.some((c) => ev(c, true));
      case 'Fn::FindInMap': {
        const [m, k1, k2] = a.map((x) => ev(x, inCondition));
        return (((template.Mappings || {})[m] || {})[String(k1)] || {})[String(k2)];
      }
      case 'Fn::GetAtt': {
        const [r, at] = typeof a === 'string' ? [a.slice(0, a.indexOf('.')), a.slice(a.indexOf('.') + 1)] : a;
        return `<GetAtt ${r}.${ev(at)}>`;
      }
      case 'Fn::Sub': {
        const [str, vars] = Array.isArray(a) ? [a[0], a[1]] : [a, {}];
        return str.replace(SUB_VAR_RE, (whole, inner) => {
          const name = inner.trim();
          if (name.startsWith('!')) return `\${${name.slice(1)}}`;
          if (vars && Object.prototype.hasOwnProperty.call(vars, name)) return String(ev(vars[name]));
          if (Object.prototype.hasOwnProperty.call(params, name)) return String(paramValue(name));
          return whole;
        });
      }
      case 'Fn::Join': return ev(a[1], inCondition).join(a[0]);
      case 'Fn::Select': return ev(a[1], inCondition)[Number(ev(a[0], inCondition))];
      case 'Fn::Split': return String(ev(a[1], inCondition)).split(a[0]);
      default: return { [f]: ev(a, inCondition) };
    }
  };
  const r = ev(value);
  return r === NO_VALUE ? undefined : r;
}

module.exports = {
  SPEC_FILE,
  SHORT_FORMS,
  loadSpec,
  specInfo,
  parseTemplate,
  parseTemplateFile,
  validateTemplate,
  checkReferences,
  evaluate,
  intrinsicOf,
};
