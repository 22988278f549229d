// Coupons the customer holds, grouped as usable, used and expired.
const { request } = require('../../utils/request')
const { yuan } = require('../../utils/format')

const GROUPS = [
  { status: 'active', title: '可使用' },
  { status: 'used', title: '已使用' },
  { status: 'expired', title: '已过期' },
]

Component({
  data: { groups: [], empty: false, error: '' },
  methods: {
    async onLoad() {
      try {
        const { coupons } = await request({ path: '/api/v1/me/coupons' })
        const groups = GROUPS.map((g) => ({
          ...g,
          coupons: coupons
            .filter((c) => c.status === g.status)
            .map((c) => ({
              code: c.code,
              name: c.name,
              value: yuan(c.value_fen),
              rule: c.min_spend_fen > 0 ? `满${yuan(c.min_spend_fen)}元可用` : '无门槛',
              expires: c.expires_at.slice(0, 10),
            })),
        })).filter((g) => g.coupons.length)
        this.setData({ groups, empty: coupons.length === 0 })
      } catch (error) {
        this.setData({ error: error.message })
      }
    },
  },
})
