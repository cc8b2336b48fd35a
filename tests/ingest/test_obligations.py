"""The obligation extractor on small texts: modalities, actors, conditions, list items, exclusions."""

from __future__ import annotations

from ingest.obligations import build_register, extract_unit, load_rules


def triples(items) -> set[tuple[str, str, str]]:
    return {(i.locator, i.actor_norm, i.modality) for i in items}


def rows(doc_id: str, language: str, units: dict[str, str], status: str = "in-force") -> list:
    return [
        (
            f"{doc_id}#{n}",
            {
                "doc_id": doc_id,
                "unit": unit,
                "chunk_index": n,
                "unit_index": n,
                "language": language,
                "status": status,
                "title": "T",
                "jurisdiction": "CN" if language == "zh" else "EU",
            },
            text,
        )
        for n, (unit, text) in enumerate(units.items())
    ]


def test_chinese_obligation_prohibition_and_permission_with_actor_and_condition():
    text = (
        "第九条 用户申请服务提供者提供没有添加显式标识的生成合成内容的，服务提供者可以在通过用户协议明确用户的标识义务和"
        "使用责任后，提供不含显式标识的生成合成内容。\n\n"
        "任何组织和个人不得恶意删除、篡改、伪造、隐匿生成合成内容标识。"
    )
    items = extract_unit("d", "第九条", text, "zh")
    assert triples(items) == {("第九条", "provider", "permission"), ("第九条第二款", "anyone", "prohibition")}
    permission = items[0]
    assert permission.actor == "服务提供者"
    assert permission.condition == "用户申请服务提供者提供没有添加显式标识的生成合成内容的"
    assert permission.text.startswith("用户申请服务提供者")  # the verbatim sentence, without the article label


def test_chinese_exhortations_and_definitions_yield_nothing():
    text = (
        "第五条 服务提供者应当在文件元数据中添加隐式标识。\n\n鼓励服务提供者在生成合成内容中添加数字水印。\n\n"
        "文件元数据是指按照特定编码格式嵌入到文件头部的描述性信息，可以记录文件来源。"
    )
    assert triples(extract_unit("d", "第五条", text, "zh")) == {("第五条", "provider", "obligation")}


def test_chinese_list_items_carry_the_lead_in_and_their_own_cues():
    text = (
        "第七条 提供者应当依法开展训练数据处理活动，遵守以下规定：\n\n（一）使用具有合法来源的数据；\n\n"
        "（二）涉及知识产权的，不得侵害他人依法享有的知识产权；\n\n（三）在视频起始画面添加提示标识，可以在视频末尾添加提示标识。"
    )
    items = extract_unit("d", "第七条", text, "zh")
    assert triples(items) == {
        ("第七条（一）", "provider", "obligation"),
        ("第七条（二）", "provider", "prohibition"),
        ("第七条（三）", "provider", "obligation"),
        ("第七条（三）", "provider", "permission"),
    }
    assert all(i.context.startswith("提供者应当依法开展") for i in items)  # the lead-in is context, not a line
    assert next(i for i in items if i.modality == "prohibition").condition == "涉及知识产权的"


def test_chinese_several_actors_of_one_subject():
    text = "第十条 深度合成服务提供者和技术支持者应当加强技术管理。"
    assert triples(extract_unit("d", "第十条", text, "zh")) == {
        ("第十条", "provider", "obligation"),
        ("第十条", "developer", "obligation"),
    }


def test_english_subject_pronoun_condition_and_exclusions():
    text = (
        "### Article 23 — Obligations of importers\n\n"
        "2. Where an importer has sufficient reason to consider that a system is not in conformity, it shall not "
        "place the system on the market. This obligation shall not apply to systems for research.\n\n"
        "3. Upon a reasoned request from a competent authority, importers shall provide all information.\n\n"
        "4. Paragraphs 1 to 3 shall be without prejudice to other obligations. Member States may introduce "
        "stricter rules. The use of such system may produce risks. Providers should consider their users."
    )
    items = extract_unit("eu", "Article 23", text, "en")
    assert triples(items) == {
        ("Article 23(2)", "importer", "prohibition"),
        ("Article 23(3)", "importer", "obligation"),
        ("Article 23(4)", "authority", "permission"),
    }
    prohibition = next(i for i in items if i.modality == "prohibition")
    assert prohibition.condition.startswith("Where an importer has sufficient reason")
    assert next(i for i in items if i.locator == "Article 23(3)").condition.startswith("Upon a reasoned request")


def test_english_list_under_a_lead_in_and_an_impersonal_duty():
    text = (
        "### Article 16 — Obligations of providers\n\nProviders of high-risk AI systems shall:\n\n"
        "(a) keep the documentation;\n\n(b) when under their control, keep the logs.\n\n"
        "High-risk AI systems shall be designed for oversight."
    )
    items = extract_unit("eu", "Article 16", text, "en")
    assert [(i.locator, i.actor_norm) for i in items][:2] == [
        ("Article 16(a)", "provider"),
        ("Article 16(b)", "provider"),
    ]
    assert items[0].actor == "Providers of high-risk AI systems"
    assert items[1].condition == "when under their control"
    # a sentence that names nobody takes the actor of the unit's sentence before it
    assert items[2].actor_norm == "provider"


def test_purpose_definition_final_and_non_binding_units_are_excluded():
    zh = rows(
        "cn",
        "zh",
        {
            "第一条": "第一条 为了规范服务，根据有关法律，制定本办法。",
            "第二条": "第二条 本办法下列用语的含义是：\n\n（一）提供者，是指应当提供服务的组织。",
            "第三条": "第三条 提供者应当公开服务规则。",
            "第四条": "第四条 本办法自2025年9月1日起施行。",
        },
    )
    en = rows(
        "eu",
        "en",
        {
            "Article 1": "### Article 1 — Subject matter\n\nProviders shall comply with this.",
            "Recital 5": "(5) Member States may adopt measures.",
            "Article 2": "### Article 2 — Duties\n\nDeployers must inform workers.",
        },
    )
    soft = rows("decl", "en", {"para 1": "States shall cooperate."}, status="non-binding")
    found = {(i["doc_id"], i["unit"], i["actor_norm"]) for i in build_register(zh + en + soft)}
    assert found == {("cn", "第三条", "provider"), ("eu", "Article 2", "deployer")}


def test_rules_file_gives_every_actor_a_label_and_the_vocabulary_the_brief_names():
    rules = load_rules()
    norms = {a.norm for a in rules.actors}
    assert {
        "provider",
        "deployer",
        "platform",
        "app_store",
        "data_handler",
        "developer",
        "authority",
        "anyone",
    } <= norms
    assert all(a.label for a in rules.actors)
