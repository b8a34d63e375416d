export const handler = async (event) => ({ esm: true, n: event.n });
