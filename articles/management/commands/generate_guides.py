"""Create many realistic synthetic published guides, for load and search benchmarks.

Guides get 2 to 4 sections, 2 to 4 tags and up to 2 legal citations, and are
indexed for search as they are written. Bulk inserts keep 100,000 guides to
a few minutes. Synthetic guides are marked by a "synthetic" tag and a slug
prefix, so they are easy to tell apart (and delete).

`--language zh-hans` writes them in Simplified Chinese (titles, sections, tags, topic
and law names, with the same variety of words as English); `--both` writes each
guide in English and Chinese, the two versions in one translation group.
"""

import random
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from taggit.models import Tag, TaggedItem

from articles.markdown import render_markdown
from articles.models import Article, Category, Citation, Law, LegalProvision, Section, primary
from articles.search.indexing import index_articles

# The word lists below are data tables: written several words to a line they read
# as lists, so the formatter is told to leave them (`fmt: skip`).
ACTIONS = [
    "apply for", "renew", "activate", "replace", "transfer", "cancel", "check", "pay",
    "claim", "register", "update", "report the loss of", "collect", "appeal against",
    "change the address on", "get a copy of", "suspend", "reissue", "verify", "enrol in",
]  # fmt: skip
THINGS = [
    "a social security card", "a medical insurance card", "a pension account",
    "unemployment benefit", "maternity allowance", "a housing fund account",
    "an electronic health card", "a residence permit", "a work injury claim",
    "a childcare subsidy", "a disability allowance", "a student loan",
    "a business licence", "a tax refund", "an old-age pension", "a flexible employment record",
    "a birth certificate", "a marriage certificate", "a driving licence", "a passport",
    "long-term care insurance", "a hospital referral", "an outpatient reimbursement",
    "a funeral subsidy", "a personal income tax return", "a provident fund loan",
]  # fmt: skip
PLACES = [
    "Beijing", "Shanghai", "Guangzhou", "Shenzhen", "Chengdu", "Hangzhou", "Wuhan",
    "Tianjin", "Chongqing", "Nanjing", "Xi'an", "Suzhou", "Qingdao", "Xiamen", "Kunming",
    "Harbin", "Jinan", "Changsha", "Zhengzhou", "Hefei", "Fuzhou", "Nanning", "Dalian",
    "online", "by phone", "at a bank branch", "in an app", "from abroad",
]  # fmt: skip
TEMPLATES = [
    "How to {action} {thing} {place}",
    "Can I {action} {thing} {place}?",
    "What do I need to {action} {thing} {place}?",
    "{Thing}: how to {action} it {place}",
]
CATEGORIES = [
    "Social security cards", "Medical insurance", "Pensions", "Unemployment",
    "Maternity and family", "Housing fund", "Work injury", "Tax", "Identity documents",
    "Business and employment", "Health care", "Education",
]  # fmt: skip
TAGS = sorted({word for thing in THINGS for word in thing.split() if len(word) > 4} | {
    "online", "deadline", "documents", "fees", "eligibility", "appeal", "employer", "family",
})  # fmt: skip
STEP_VERBS = [
    "Open", "Go to", "Choose", "Fill in", "Upload", "Check", "Confirm", "Sign", "Print",
    "Bring", "Wait for", "Keep",
]  # fmt: skip
STEP_OBJECTS = [
    "the application form", "your ID card", "the service counter", "the online portal",
    "the confirmation message", "proof of address", "your bank details", "the receipt",
    "the reference number", "your employer's letter", "a recent photo", "the fee",
]  # fmt: skip

# Simplified Chinese, item for item: a guide written in both languages picks the same
# positions in each list, so its two versions say the same thing.
ACTIONS_ZH = [
    "申请", "续办", "激活", "补办", "转移", "注销", "查询", "缴纳", "申领", "登记",
    "更新", "挂失", "领取", "申诉", "变更地址", "开具", "暂停", "换领", "核验", "参加",
]  # fmt: skip
THINGS_ZH = [
    "社保卡", "医保卡", "养老保险账户", "失业保险金", "生育津贴", "住房公积金账户",
    "电子健康卡", "居住证", "工伤认定", "育儿补贴", "残疾人补贴", "助学贷款", "营业执照",
    "退税", "养老金", "灵活就业备案", "出生医学证明", "结婚证", "驾驶证", "护照",
    "长期护理保险", "转诊证明", "门诊费用报销", "丧葬补助金", "个人所得税汇算", "公积金贷款",
]  # fmt: skip
PLACES_ZH = [
    "北京", "上海", "广州", "深圳", "成都", "杭州", "武汉", "天津", "重庆", "南京", "西安",
    "苏州", "青岛", "厦门", "昆明", "哈尔滨", "济南", "长沙", "郑州", "合肥", "福州", "南宁",
    "大连", "网上", "电话", "银行网点", "手机App", "境外",
]  # fmt: skip
# How each place reads after "how to …": 在上海, 通过电话.
WHERE_ZH = {"网上": "在网上", "电话": "通过电话", "手机App": "通过手机App"}
TEMPLATES_ZH = [
    "如何{where}{action}{thing}",
    "可以{where}{action}{thing}吗？",
    "{where}{action}{thing}需要准备什么？",
    "{thing}：{where}{action}指南",
]
CATEGORIES_ZH = [
    "社保卡", "医疗保险", "养老金", "失业", "生育与家庭", "住房公积金", "工伤", "税务",
    "身份证件", "创业与就业", "医疗卫生", "教育",
]  # fmt: skip
TAGS_ZH = {
    "account": "账户", "allowance": "津贴", "appeal": "申诉", "benefit": "待遇",
    "birth": "出生", "business": "营业", "certificate": "证明", "childcare": "育儿",
    "claim": "申领", "deadline": "截止日期", "disability": "残疾人", "documents": "材料",
    "driving": "驾驶", "electronic": "电子", "eligibility": "申请条件",
    "employer": "用人单位", "employment": "就业", "family": "家庭", "fees": "费用",
    "flexible": "灵活就业", "funeral": "丧葬", "health": "健康", "hospital": "医院",
    "housing": "住房", "income": "收入", "injury": "工伤", "insurance": "保险",
    "licence": "执照", "long-term": "长期", "marriage": "婚姻", "maternity": "生育",
    "medical": "医疗", "old-age": "养老", "online": "网上办理", "outpatient": "门诊",
    "passport": "护照", "pension": "养老金", "permit": "居住证", "personal": "个人",
    "provident": "公积金", "record": "备案", "referral": "转诊", "refund": "退税",
    "reimbursement": "报销", "residence": "居住", "return": "汇算", "security": "社会保障",
    "social": "社保", "student": "学生", "subsidy": "补贴", "unemployment": "失业",
}  # fmt: skip
STEP_VERBS_ZH = [
    "打开", "前往", "选择", "填写", "上传", "核对", "确认", "签署", "打印", "携带", "等待",
    "保管",
]  # fmt: skip
STEP_OBJECTS_ZH = [
    "申请表", "身份证", "服务窗口", "网上办事大厅", "确认短信", "住址证明", "银行账户信息",
    "受理回执", "受理编号", "用人单位出具的证明", "近期免冠照片", "相关费用",
]  # fmt: skip
# Sentences of the "good to know" section, for the variety of real Chinese prose.
TIPS_ZH = [
    "工作日上午九点至下午五点可以到窗口办理，节假日除外。",
    "部分城市支持通过微信或支付宝预约，可以减少排队时间。",
    "如果材料不全，工作人员会一次性告知需要补充的内容。",
    "办理结果一般在十五个工作日内以短信方式通知本人。",
    "逾期未办理的，可能需要重新提交申请并补缴相关费用。",
    "委托他人代办的，需要提供授权委托书和双方的身份证原件。",
    "异地办理前，请先向参保地的经办机构咨询具体要求。",
    "外籍人员可以使用护照或外国人永久居留身份证办理。",
    "所有费用均可使用银行卡、微信或支付宝支付，不收现金。",
    "对办理结果有异议的，可以在六十日内申请行政复议。",
    "老年人和残疾人可以优先办理，也可以申请上门服务。",
    "政务服务热线一二三四五可以解答办理过程中的常见问题。",
]


BODY_VARIANTS = 1000
LANGUAGES = [code for code, _name in settings.LANGUAGES]


class Command(BaseCommand):
    help = "Create N synthetic published guides (with sections, tags, citations) and index them."

    def add_arguments(self, parser):
        parser.add_argument("count", type=int, help="How many guides to create.")
        parser.add_argument("--seed", type=int, default=1, help="Random seed (repeatable data).")
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument(
            "--language",
            choices=["en", "zh-hans"],
            default="en",
            help="The language the guides are written in (default: en).",
        )
        parser.add_argument(
            "--both",
            action="store_true",
            help="Write each guide in English and in Chinese, one translation group "
            "(2 × count pages).",
        )

    def handle(self, *args, count, seed, batch_size, language, both, verbosity=1, **options):
        if count < 1 or count > 2_000_000:
            raise CommandError("count must be between 1 and 2,000,000")
        languages = ["en", "zh-hans"] if both else [language]
        unknown = set(languages) - set(LANGUAGES)
        if unknown:
            raise CommandError(f"The site has no language {', '.join(sorted(unknown))}.")
        rng = random.Random(seed)  # noqa: S311 (synthetic content, not security)
        started = time.monotonic()
        categories = self._categories()
        provisions = self._provisions()
        tags = {
            "en": [self._tag(name) for name in TAGS],
            "zh-hans": [self._tag(TAGS_ZH[name]) for name in TAGS],
        }
        synthetic_tag = self._tag("synthetic")
        content_type = ContentType.objects.get_for_model(Article)
        rendered = {}
        first = Article.objects.filter(slug__startswith="synthetic-").count()
        now = timezone.now()
        done = 0
        while done < count:
            size = min(batch_size, count - done)
            with transaction.atomic():
                articles, guides = [], []
                for offset in range(size):
                    n = first + done * len(languages) + offset * len(languages)
                    picks = [rng.randrange(len(items)) for items in (ACTIONS, THINGS, PLACES)]
                    template = rng.randrange(len(TEMPLATES))
                    category = rng.choice(categories)
                    published_at = now - timedelta(minutes=rng.randrange(1, 3_000_000))
                    versions = []
                    for number, code in enumerate(languages, start=n + 1):
                        title = self._title(code, *picks, template)
                        versions.append(
                            Article(
                                title=title,
                                slug=self._slug(code, number, title, picks[1]),
                                language=code,
                                translated_from="en" if code != languages[0] else "",
                                category=category,
                                summary=self._summary(code, title),
                                status=Article.Status.PUBLISHED,
                                published_at=published_at,
                            )
                        )
                    group = versions[0].translation_group
                    for version in versions:
                        version.translation_group = group
                    articles += versions
                    guides.append(versions)
                Article.objects.bulk_create(articles)
                sections, citations, tagged = [], [], []
                for versions in guides:
                    # A pool of bodies per position: realistic variety, rendered once each.
                    variants = [
                        (position, position * 10_000 + rng.randrange(BODY_VARIANTS))
                        for position in range(1, rng.randint(2, 4) + 1)
                    ]
                    cited = rng.sample(provisions, rng.randint(0, 2))
                    chosen = rng.sample(range(len(TAGS)), rng.randint(2, 4))
                    for article in versions:
                        for position, variant in variants:
                            kind, heading, body = self._section(
                                article.language,
                                random.Random(variant),  # noqa: S311
                                position,
                            )
                            if body not in rendered:
                                rendered[body] = render_markdown(body)
                            sections.append(
                                Section(
                                    article=article,
                                    position=position,
                                    kind=kind,
                                    heading=heading,
                                    body=body,
                                    body_html=rendered[body],
                                )
                            )
                        for position, provision in enumerate(cited):
                            citations.append(
                                Citation(article=article, provision=provision, position=position)
                            )
                        for tag in [*(tags[article.language][i] for i in chosen), synthetic_tag]:
                            tagged.append(
                                TaggedItem(tag=tag, content_type=content_type, object_id=article.pk)
                            )
                Section.objects.bulk_create(sections, batch_size=1000)
                Citation.objects.bulk_create(citations, batch_size=1000)
                TaggedItem.objects.bulk_create(tagged, batch_size=1000)
            index_articles([article.pk for article in articles])
            done += size
            if verbosity:
                rate = done / (time.monotonic() - started)
                self.stdout.write(f"  {done}/{count} guides ({rate:.0f}/s)")
        # Fresh planner statistics: without them the database may plan searches as if
        # the tables were still nearly empty. On PostgreSQL, VACUUM also drops the row
        # versions the index updates left behind (as autovacuum would, in time), or
        # every search reads past them (VACUUM cannot run inside a transaction).
        vacuum = connection.vendor == "postgresql" and not connection.in_atomic_block
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE" if vacuum else "ANALYZE")
        if verbosity:
            seconds = time.monotonic() - started
            written = f", each in {' and '.join(languages)}," if both else ""
            self.stdout.write(
                self.style.SUCCESS(f"Created {count} guides{written} in {seconds:.1f} s.")
            )

    def _tag(self, name):
        return Tag.objects.get_or_create(
            slug=slugify(name, allow_unicode=True), defaults={"name": name}
        )[0]

    def _slug(self, language, number, title, thing):
        if language == "en":
            return f"synthetic-{number}-{slugify(title)}"[:150]
        # Short: each Chinese character takes nine characters of the encoded address.
        return f"synthetic-{number}-{slugify(THINGS_ZH[thing], allow_unicode=True)}"

    def _title(self, language, action, thing, place, template):
        if language == "zh-hans":
            place = PLACES_ZH[place]
            return TEMPLATES_ZH[template].format(
                action=ACTIONS_ZH[action],
                thing=THINGS_ZH[thing],
                where=WHERE_ZH.get(place, f"在{place}"),
            )
        action, thing, place = ACTIONS[action], THINGS[thing], PLACES[place]
        if place not in {"online", "by phone", "from abroad"} and not place.startswith(
            ("at", "in")
        ):
            place = f"in {place}"
        title = TEMPLATES[template].format(
            action=action, thing=thing, Thing=thing[0].upper() + thing[1:], place=place
        )
        return title[0].upper() + title[1:]

    def _summary(self, language, title):
        if language == "zh-hans":
            return f"{title.rstrip('？')}：谁可以办理、需要带什么材料，以及具体的办理步骤。"
        return f"{title.rstrip('?')}: who can do it, what to bring, and the steps to follow."

    def _section(self, language, rng, position):
        if language == "zh-hans":
            return self._section_zh(rng, position)
        if position == 1:
            steps = [
                f"{rng.choice(STEP_VERBS)} {rng.choice(STEP_OBJECTS)}."
                for _ in range(rng.randint(3, 7))
            ]
            return "steps", "Steps", "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1))
        if position == 2:
            ways = [
                f"**{rng.choice(PLACES).capitalize()}.** {rng.choice(STEP_VERBS)} "
                f"{rng.choice(STEP_OBJECTS)}."
                for _ in range(rng.randint(2, 4))
            ]
            return "ways", "Other ways", "\n".join(f"{i}. {w}" for i, w in enumerate(ways, 1))
        if position == 3:
            holder, proof = rng.choice(THINGS), rng.choice(STEP_OBJECTS)
            return "question", "Who can apply?", f"Anyone who holds {holder} and can show {proof}."
        return (
            "text",
            "Good to know",
            f"Keep {rng.choice(STEP_OBJECTS)} until the process is complete.",
        )

    def _section_zh(self, rng, position):
        """The Chinese of _section(): the same choices from the same generator, so a
        guide's two versions match; the last section adds a sentence of advice."""
        if position == 1:
            steps = [
                f"{rng.choice(STEP_VERBS_ZH)}{rng.choice(STEP_OBJECTS_ZH)}。"
                for _ in range(rng.randint(3, 7))
            ]
            return "steps", "办理步骤", "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1))
        if position == 2:
            ways = [
                f"**{rng.choice(PLACES_ZH)}**：{rng.choice(STEP_VERBS_ZH)}"
                f"{rng.choice(STEP_OBJECTS_ZH)}。"
                for _ in range(rng.randint(2, 4))
            ]
            return "ways", "其他办理方式", "\n".join(f"{i}. {w}" for i, w in enumerate(ways, 1))
        if position == 3:
            holder, proof = rng.choice(THINGS_ZH), rng.choice(STEP_OBJECTS_ZH)
            return "question", "谁可以申请？", f"持有{holder}并能提供{proof}的人都可以申请。"
        keep = rng.choice(STEP_OBJECTS_ZH)
        return "text", "温馨提示", f"办理完成前，请妥善保管{keep}。{rng.choice(TIPS_ZH)}"

    def _categories(self):
        found = []
        for i, (name, name_zh) in enumerate(zip(CATEGORIES, CATEGORIES_ZH, strict=True)):
            category, _ = Category.objects.get_or_create(
                slug=f"topic-{slugify(name)}",
                defaults={primary("name"): name, "name_zh_hans": name_zh, "position": 100 + i},
            )
            if not category.name_zh_hans:
                category.name_zh_hans = name_zh
                category.save(update_fields=["name_zh_hans"])
            found.append(category)
        return found

    def _provisions(self):
        law, _ = Law.objects.get_or_create(
            slug="synthetic-public-services-act",
            defaults={
                primary("name"): "Public Services Act (synthetic)",
                primary("short_name"): "Public Services Act",
                "name_zh_hans": "公共服务法（合成）",
                "short_name_zh_hans": "公共服务法",
            },
        )
        return [
            LegalProvision.objects.get_or_create(
                law=law,
                **{primary("label"): f"Article {n}"},
                defaults={
                    primary("text"): f"Provision {n} on {THINGS[n % len(THINGS)]}.",
                    "label_zh_hans": f"第{n}条",
                    "text_zh_hans": f"第{n}条：关于{THINGS_ZH[n % len(THINGS_ZH)]}的规定。",
                    "position": n,
                },
            )[0]
            for n in range(1, 31)
        ]
