// The one place the backend's address is set. Point it at your backend before opening the project in
// WeChat DevTools (the mini-program's request domain list must name it in production).
module.exports = {
  baseUrl: 'http://127.0.0.1:8080',
}
