import 'aws-sdk-client-mock-jest';

// Unit tests never reach AWS: make sure a forgotten mock fails instead of calling out.
process.env.AWS_ACCESS_KEY_ID = 'unit-test';
process.env.AWS_SECRET_ACCESS_KEY = 'unit-test';
process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:9';
