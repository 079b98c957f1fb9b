"""The matter catalog (事项目录) and zone policies: data files validated by pydantic models.

``models`` is pure (safe in workflows); ``load`` reads the shipped data files (activities, CLI).
"""
