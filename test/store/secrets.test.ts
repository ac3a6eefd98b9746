import { decryptSecret, encryptSecret, SecretError } from '../../src/store';

const SECRET = 'a-configuration-secret-of-32-chars-or-more';

describe('encryptSecret / decryptSecret', () => {
  test('round-trips, with a fresh IV each time, and the plaintext is not in the stored form', () => {
    const a = encryptSecret('aik_v1_live_key', SECRET, 'ctx');
    const b = encryptSecret('aik_v1_live_key', SECRET, 'ctx');
    expect(a).not.toBe(b);
    expect(a).not.toContain('aik_v1');
    expect(a).toMatch(/^v1\./);
    expect(decryptSecret(a, SECRET, 'ctx')).toBe('aik_v1_live_key');
  });

  test('the wrong secret, the wrong context or a tampered value cannot be read, and the error names neither', () => {
    const stored = encryptSecret('aik_v1_live_key', SECRET, 'platform A');
    const attempts = [
      () => decryptSecret(stored, `${SECRET}-other`, 'platform A'),
      () => decryptSecret(stored, SECRET, 'platform B'),
      () => decryptSecret(stored.slice(0, -2) + (stored.endsWith('A') ? 'BB' : 'AA'), SECRET, 'platform A'),
      () => decryptSecret('not-a-secret', SECRET, 'platform A'),
    ];
    for (const attempt of attempts) {
      let caught: unknown;
      try {
        attempt();
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(SecretError);
      expect((caught as SecretError).code).toBe('secret_unreadable');
      expect((caught as Error).message).not.toContain(SECRET);
      expect((caught as Error).message).not.toContain('aik_v1');
    }
  });

  test('a short configuration secret is refused', () => {
    expect(() => encryptSecret('x', 'short')).toThrow(expect.objectContaining({ code: 'secret_too_short' }));
  });
});
