export async function handler(event) {
  throw new TypeError('bad ' + event.x);
}
