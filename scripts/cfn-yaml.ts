/**
 * Reads CloudFormation YAML (serverless.yml, member/template.yaml) with its short-form intrinsic
 * functions (!Ref, !GetAtt, !Sub, …) turned into their long JSON forms. Used by the IAM scripts and
 * the tests; never bundled into a Lambda.
 */
import { parse, type CollectionTag, type ScalarTag } from 'yaml';

const CFN_FUNCTIONS = ['Ref', 'Condition', 'GetAtt', 'Sub', 'If', 'Not', 'Equals', 'And', 'Or', 'Select', 'Split', 'Join', 'ImportValue', 'FindInMap', 'Base64', 'GetAZs', 'Cidr'];

const cfnTags: (ScalarTag | CollectionTag)[] = CFN_FUNCTIONS.flatMap((name) => {
  const key = name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
  return [
    { tag: `!${name}`, resolve: (value: string) => ({ [key]: name === 'GetAtt' ? value.split('.') : value }) } as ScalarTag,
    { tag: `!${name}`, collection: 'seq', resolve: (seq) => ({ [key]: seq.toJSON() }) } as CollectionTag,
    { tag: `!${name}`, collection: 'map', resolve: (map) => ({ [key]: map.toJSON() }) } as CollectionTag,
  ];
});

export function parseCfnYaml(text: string): unknown {
  return parse(text, { customTags: cfnTags });
}
