// Integration tests talk to moto with the real SDK clients; moto accepts any credentials.
process.env.AWS_ACCESS_KEY_ID = 'testing';
process.env.AWS_SECRET_ACCESS_KEY = 'testing';
delete process.env.AWS_PROFILE;
delete process.env.AWS_SESSION_TOKEN;
jest.setTimeout(180_000);
