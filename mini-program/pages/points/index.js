// Points: the balance, the statement, a campaign's catalogue and redemption (one redemption per tap, even retried).
const { request, newIdempotencyKey } = require('../../utils/request')

function when(iso) {
  return iso.slice(0, 10)
}

Component({
  data: { balance: 0, entries: [], items: [], notice: '', error: '' },
  methods: {
    async onLoad(query) {
      this.slug = query.slug
      this.pendingKeys = {}
      await this.load()
    },
    async load() {
      try {
        const [statement, catalogue] = await Promise.all([
          request({ path: '/api/v1/me/points' }),
          this.slug ? request({ path: `/api/v1/campaigns/${this.slug}/catalogue` }) : Promise.resolve({ items: [] }),
        ])
        this.setData({
          balance: statement.balance,
          entries: statement.entries.map((e) => ({
            id: e.id,
            delta: e.delta > 0 ? `+${e.delta}` : String(e.delta),
            reason: e.reason,
            date: when(e.created_at),
          })),
          items: catalogue.items.map((i) => ({
            slug: i.slug,
            name: i.name,
            cost: i.cost_points,
            left: i.stock_total === null ? null : i.stock_total - i.redeemed_count,
          })),
        })
      } catch (error) {
        this.setData({ error: error.message })
      }
    },
    async redeem(event) {
      const item = event.currentTarget.dataset.slug
      const key = this.pendingKeys[item] || (this.pendingKeys[item] = newIdempotencyKey())
      this.setData({ error: '', notice: '' })
      try {
        const redeemed = await request({
          path: '/api/v1/points/redeem',
          method: 'POST',
          data: { campaign: this.slug, item },
          idempotencyKey: key,
        })
        delete this.pendingKeys[item]
        const name = (this.data.items.find((i) => i.slug === redeemed.item) || { name: redeemed.item }).name
        this.setData({ notice: `兑换成功：${name}，剩余积分 ${redeemed.balance_after}` })
        await this.load()
      } catch (error) {
        if (error.code !== 'network') delete this.pendingKeys[item]
        this.setData({ error: error.message })
      }
    },
  },
})
