"""The lifecycle's stages, in order (国办发〔2019〕11号 four stages, framed by establishment,
construction and production)."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    REGISTERED = "registered"  # 签约入库
    ESTABLISHMENT = "establishment"  # 企业设立登记
    APPROVAL_LAND = "approval_land"  # 1. 立项用地规划许可
    ENGINEERING_PERMIT = "engineering_permit"  # 2. 工程建设许可
    CONSTRUCTION_PERMIT = "construction_permit"  # 3. 施工许可
    CONSTRUCTION = "construction"  # 建设施工
    COMPLETION_ACCEPTANCE = "completion_acceptance"  # 4. 竣工验收 (联合验收)
    IN_PRODUCTION = "in_production"  # 投产
    WITHDRAWN = "withdrawn"


# Stages whose matters departments decide, in the order they run.
APPROVAL_STAGES = (
    Stage.ESTABLISHMENT,
    Stage.APPROVAL_LAND,
    Stage.ENGINEERING_PERMIT,
    Stage.CONSTRUCTION_PERMIT,
    Stage.COMPLETION_ACCEPTANCE,
)
