import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  categoriesInRange,
  codePrefixes,
  compileDiagnosisPatterns,
  diagnosisCategory,
  diagnosisMatches,
  genericCode,
  isDrugCode,
  matchesAnyPrefix,
  normalizeDiagnosisCode,
  therapeuticClass,
} from './codes';

test('diagnosis codes normalise to upper case without spaces or dots', () => {
  assert.equal(normalizeDiagnosisCode(' i10.x00 x002 '), 'I10X00X002');
  assert.equal(diagnosisCategory('I10.x00x002'), 'I10');
  assert.equal(diagnosisCategory('c34.900'), 'C34');
  assert.equal(diagnosisCategory('XYZ'), undefined);
});

test('a prefix pattern matches the category and every finer code', () => {
  assert.ok(diagnosisMatches('C34', 'C34.900'));
  assert.ok(diagnosisMatches('C34', 'C34'));
  assert.ok(diagnosisMatches('E11.9', 'E11.900'));
  assert.ok(!diagnosisMatches('E11.9', 'E11.800'));
  assert.ok(diagnosisMatches('J84.1', 'J84.101'));
  assert.ok(!diagnosisMatches('J84.1', 'J84.001'));
  assert.ok(!diagnosisMatches('C34', 'C3'));
  assert.ok(!diagnosisMatches('C34', 'C35.000'));
});

test('clinical extensions match their parent code', () => {
  assert.ok(diagnosisMatches('I10', 'I10.x00x002'));
  assert.ok(diagnosisMatches('I10.x00', 'I10.X00X002'));
  assert.ok(diagnosisMatches('I10-I15', 'I10.x00x002'));
});

test('matching ignores case, spaces and a missing dot', () => {
  assert.ok(diagnosisMatches('e11.9', ' E11.9 00 '));
  assert.ok(diagnosisMatches('E11.9', 'e11900'));
  assert.ok(diagnosisMatches(' c34 ', 'c34.9'));
});

test('a range covers three-character categories inclusively', () => {
  assert.ok(diagnosisMatches('C15-C26', 'C15.000'));
  assert.ok(diagnosisMatches('C15-C26', 'C26.900'));
  assert.ok(diagnosisMatches('C15-C26', 'C20.x00'));
  assert.ok(!diagnosisMatches('C15-C26', 'C14.900'));
  assert.ok(!diagnosisMatches('C15-C26', 'C27'));
  assert.ok(!diagnosisMatches('C15-C26', 'D15.000'));
  assert.ok(!diagnosisMatches('N17-N19', 'N1'));
});

test('a range may cross letters', () => {
  assert.ok(diagnosisMatches('C00-D48', 'D12.300'));
  assert.ok(diagnosisMatches('C00-D48', 'C97'));
  assert.ok(!diagnosisMatches('C00-D48', 'D49.000'));
  assert.ok(!diagnosisMatches('C00-D48', 'B99'));
  assert.deepEqual(categoriesInRange('C98', 'D01'), ['C98', 'C99', 'D00', 'D01']);
  assert.deepEqual(categoriesInRange('N17', 'N17'), ['N17']);
});

test('a compiled matcher finds the first matching diagnosis', () => {
  const matcher = compileDiagnosisPatterns(['C15-C26', 'C34']);
  assert.equal(matcher.firstMatch(['J18900', 'C34900', 'C16000']), 1);
  assert.equal(matcher.firstMatch(['J18900']), -1);
  assert.ok(matcher.matches('c16.0'));
  assert.equal(compileDiagnosisPatterns([]).firstMatch(['C34']), -1);
});

test('the generic is the first ten characters of X and Z codes', () => {
  assert.equal(genericCode('XC08CAA053A001010100001'), 'XC08CAA053');
  assert.equal(genericCode('ZA12AAZ017A001010100006'), 'ZA12AAZ017');
  assert.equal(genericCode('C0100000001'), undefined);
  assert.equal(genericCode('XC08'), undefined);
  assert.ok(isDrugCode('ZA12AAZ017A001010100006'));
  assert.ok(!isDrugCode('T000100001'));
});

test('the therapeutic class is positions 2–6 of western drug codes only', () => {
  assert.equal(therapeuticClass('XC08CAA053A001010100001'), 'C08CA');
  assert.equal(therapeuticClass('ZA12AAZ017A001010100006'), undefined);
  assert.equal(therapeuticClass('XC0'), undefined);
});

test('prefix helpers', () => {
  assert.ok(matchesAnyPrefix('XC08CAA053A001010100001', ['XA10', 'XC08']));
  assert.ok(!matchesAnyPrefix('XC08CAA053A001010100001', ['XC09']));
  assert.deepEqual(codePrefixes('XC08'), ['X', 'XC', 'XC0', 'XC08']);
  assert.equal(codePrefixes('X'.repeat(30)).length, 23);
});
