// Shared display helpers: countdowns and money, in the words a customer reads.
function countdown(secs) {
  const s = Math.max(0, Math.floor(secs))
  const days = Math.floor(s / 86400)
  const hours = Math.floor((s % 86400) / 3600)
  const minutes = Math.floor((s % 3600) / 60)
  if (days > 0) return `${days}天${hours}小时`
  if (hours > 0) return `${hours}小时${minutes}分`
  return `${minutes}分${s % 60}秒`
}

function yuan(fen) {
  return (fen / 100).toFixed(2)
}

module.exports = { countdown, yuan }
