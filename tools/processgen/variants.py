"""The two process variants (DOMAIN.md §5): what the commercial and the government-investment processes differ in.

Critical paths on the committed limits (DESIGN.md §6):
- commercial:  intake 1 + filing 1 + land 10 | design 15 + planning 10 | drawings 20 + fire 5 + permit 5 = 67
- government:  intake 1 + proposal 5 + site 10 + feasibility 10 + land 10 | design 15 + preliminary design 15 |
               drawings 20 + fire 5 + permit 5 = 96
Gates (environment, energy, water) start when stage 1 ends and join before stage 3; on committed limits they
never lie on the critical path.
"""

from __future__ import annotations

from tools.processgen.spec import Gate, Step, Variant

STAGE_NAMES = ("立项用地规划许可", "工程建设许可", "施工许可")


def commercial() -> Variant:
    return Variant(
        key="commercial_project",
        name="社会投资（企业备案类）工程建设项目审批",
        kind="commercial",
        cap_wd=67,
        stage_caps=(12, 25, 30),
        stage_leads=("nrp", "nrp", "hc"),
        stage_names=STAGE_NAMES,
        stage_1_chain=[
            Step("filing", "FGW-01", "企业投资项目备案", form="filing", short="项目备案"),
            Step("land", "ZRZY-02", "建设用地规划许可审查（出让）", form="land_permit", short="用地规划许可"),
        ],
        stage_1_permit="建设用地规划许可证",
        stage_2_extra=[],
        gates=[
            Gate(Step("eia", "STHJ-01", "环境影响评价审批", form="eia", short="环评审批"), "eia"),
            Gate(Step("energy", "FGW-05", "节能审查", form="energy_review", short="节能审查")),
            Gate(Step("soil", "SW-02", "水土保持方案审批", form="water_permit", short="水土保持审批"), "water_soil"),
        ],
    )


def government() -> Variant:
    return Variant(
        key="government_investment_project",
        name="政府投资工程建设项目审批",
        kind="government",
        cap_wd=96,
        stage_caps=(36, 30, 30),
        stage_leads=("drc", "nrp", "hc"),
        stage_names=STAGE_NAMES,
        stage_1_chain=[
            Step("proposal", "FGW-02", "项目建议书审批", form="investment_approval", short="项目建议书"),
            Step("site", "ZRZY-01", "用地预审与选址意见书审查", form="land_permit", short="用地预审与选址"),
            Step("feasibility", "FGW-03", "可行性研究报告审批", form="investment_approval", short="可研批复"),
            Step("land", "ZRZY-03", "建设用地规划许可及划拨决定审查", form="land_permit", short="用地规划许可"),
        ],
        stage_1_permit="建设用地规划许可证及国有土地划拨决定书",
        stage_2_extra=[
            Step("preliminary_design", "FGW-04", "初步设计及概算审批（联合审查）", form="investment_approval",
                 short="初步设计及概算"),
        ],
        gates=[
            Gate(Step("eia", "STHJ-01", "环境影响评价审批", form="eia", short="环评审批"), "eia"),
            Gate(Step("energy", "FGW-05", "节能审查", form="energy_review", short="节能审查")),
        ],
    )


VARIANTS = (commercial, government)
