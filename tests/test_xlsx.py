"""Exports are safe to open: text that looks like a formula stays text."""
import io

from openpyxl import load_workbook

from core.xlsx import Sheet, write_book


def test_formula_like_text_is_written_as_text_and_money_keeps_two_decimals(tmp_path):
    data = write_book([Sheet("名单", ["姓名", "金额"], [["=HYPERLINK(\"http://x\",\"点我\")", 12.5], ["+1", 3],
                                                       ["@SUM(A1)", 0], ["张\x00三\x1b", 1]],
                             totals=["合计", 16.5], money_columns=[1])])
    ws = load_workbook(io.BytesIO(data))["名单"]
    assert ws["A2"].value == "=HYPERLINK(\"http://x\",\"点我\")" and ws["A2"].data_type == "s"
    assert ws["A3"].data_type == "s" and ws["A4"].data_type == "s"
    assert ws["A5"].value == "张三"
    assert ws["B2"].number_format == "#,##0.00" and ws["B6"].value == 16.5 and ws["A6"].font.bold
    path = tmp_path / "a.xlsx"
    write_book([Sheet("x", ["a"], [[1]])], path)
    assert load_workbook(path)["x"]["A2"].value == 1
