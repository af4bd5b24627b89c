import { ConnectorError } from '../../src/errors/connector-error.js';

test('connector errors default their retryable flag by code', () => {
  expect(new ConnectorError('TIMEOUT', 'slow').retryable).toBe(true);
  expect(new ConnectorError('AUTH_FAILED', 'no').retryable).toBe(false);
  expect(process.env.TEST_DATABASE_ADMIN_URL).toMatch(/^postgres:\/\//);
});
