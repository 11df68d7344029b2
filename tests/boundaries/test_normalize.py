import pytest

from gridops.boundaries.normalize import chinese_numeral_to_int, normalize_address

SAME_DOOR = [
    "青石路88号金桂苑3栋2单元503室",
    "青石路88号 金桂苑３号楼２单元５０３室",
    "青石路八十八号金桂苑三栋二单元503",
    "青石路88号金桂苑3幢2单元503号",
    " 青石路 88 号，金桂苑 3 座 2 单元 503 ",
]


@pytest.mark.parametrize("text", SAME_DOOR)
def test_the_usual_ways_of_writing_one_door_normalise_alike(text):
    assert normalize_address(text) == "青石路88号金桂苑3栋2单元503室"


def test_different_doors_stay_different():
    assert normalize_address("金桂苑3栋2单元503室") != normalize_address("金桂苑3栋2单元504室")
    assert normalize_address("金桂苑3栋") != normalize_address("金桂苑13栋")


def test_place_names_with_numerals_in_them_are_left_alone():
    assert normalize_address("三里屯路5号") == "三里屯路5号"


@pytest.mark.parametrize(("text", "value"), [("三", 3), ("十", 10), ("十二", 12), ("二十三", 23), ("一百零五", 105), ("一零五", 105)])
def test_chinese_numerals(text, value):
    assert chinese_numeral_to_int(text) == value
