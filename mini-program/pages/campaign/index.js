// A campaign: its rules, its activities, and for each lottery the published odds, prize values and guarantee rule.
const { request } = require('../../utils/request')
const { countdown, yuan } = require('../../utils/format')

const KIND = { quiz: '闯关答题', lottery: '抽奖', blind_box: '盲盒', points_week: '积分翻倍', task: '任务', plan: '新人计划', team: '组队', referral: '邀请好友', poster: '海报', calculator: '计算器' }
const PAGE = { quiz: 'quiz', lottery: 'lottery', blind_box: 'lottery', team: 'team', referral: 'invite', poster: 'poster', task: 'tasks', plan: 'tasks' }

function prizeValue(prize) {
  if (prize.kind === 'points') return `${prize.points}积分`
  if (prize.value_fen > 0) return `价值${yuan(prize.value_fen)}元`
  return ''
}

Component({
  data: { campaign: null, activities: [], pools: [], error: '' },
  methods: {
    async onLoad(query) {
      this.slug = query.slug
      try {
        const campaign = await request({ path: `/api/v1/campaigns/${this.slug}`, auth: false })
        const activities = campaign.activities.map((a) => ({
          slug: a.slug,
          name: a.name,
          kind: KIND[a.kind] || a.kind,
          pool: a.config && a.config.pool,
          page: PAGE[a.kind] || '',
        }))
        const poolSlugs = [...new Set(activities.filter((a) => a.page === 'lottery' && a.pool).map((a) => a.pool))]
        const pools = await Promise.all(
          poolSlugs.map(async (pool) => {
            const odds = await request({ path: `/api/v1/campaigns/${this.slug}/lottery/${pool}/odds`, auth: false })
            return {
              slug: odds.pool,
              name: odds.name,
              guarantee: odds.guarantee || '',
              prizes: odds.prizes
                .filter((p) => !p.consolation)
                .map((p) => ({ slug: p.slug, name: p.name, probability: p.probability, value: prizeValue(p), stock: p.stock_total })),
            }
          }),
        )
        this.setData({
          campaign: {
            name: campaign.name,
            theme: campaign.theme,
            rules: campaign.rules_text,
            paused: campaign.paused,
            countdown: campaign.status === 'live' ? `距结束 ${countdown(campaign.ends_in_secs)}` : `距开始 ${countdown(campaign.starts_in_secs)}`,
          },
          activities,
          pools,
        })
      } catch (error) {
        this.setData({ error: error.message })
      }
    },
    openActivity(event) {
      const { page, pool, activity } = event.currentTarget.dataset
      if (page === 'lottery') wx.navigateTo({ url: `/pages/lottery/index?slug=${this.slug}&pool=${pool}` })
      else if (page === 'quiz') wx.navigateTo({ url: `/pages/quiz/index?slug=${this.slug}` })
      else if (page === 'team') wx.navigateTo({ url: `/pages/team/index?slug=${this.slug}&activity=${activity}` })
      else if (page === 'invite') wx.navigateTo({ url: '/pages/invite/index' })
      else if (page === 'tasks') wx.navigateTo({ url: `/pages/tasks/index?slug=${this.slug}` })
      else if (page === 'poster') wx.navigateTo({ url: `/pages/poster/index?slug=${this.slug}&activity=${activity}` })
    },
  },
})
