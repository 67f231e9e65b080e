import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fragmentWithoutToken, readLaunchParameters } from '../../../renderer/bridge/launch';

test('the token and view come from the fragment', () => {
  assert.deepEqual(readLaunchParameters('#token=abc-_1&view=status'), { token: 'abc-_1', view: 'status' });
  assert.deepEqual(readLaunchParameters('#view=popup'), { token: undefined, view: 'popup' });
  assert.deepEqual(readLaunchParameters(''), { token: undefined, view: 'auto' });
  assert.deepEqual(readLaunchParameters('#view=evil'), { token: undefined, view: 'auto' });
});

test('the token is taken out of the address bar, the view stays', () => {
  assert.equal(fragmentWithoutToken('#token=abc&view=status'), '#view=status');
  assert.equal(fragmentWithoutToken('#token=abc'), '');
});
