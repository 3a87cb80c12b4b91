import pytest

from random_people.datasets.smarthome import is_smarthome_name, parse_smarthome_name


def test_parses_all_fields():
    parsed = parse_smarthome_name("/data/mp4/Cook.Cleandishes_p02_r00_v02_c03.mp4")
    assert parsed.action == "Cook.Cleandishes"
    assert (parsed.subject, parsed.routine, parsed.video, parsed.camera) == (2, 0, 2, 3)
    assert parsed.subject_id == "p02"


def test_plain_action_and_two_digit_numbers():
    parsed = parse_smarthome_name("Walk_p25_r03_v14_c07.mp4")
    assert (parsed.action, parsed.subject, parsed.camera) == ("Walk", 25, 7)


@pytest.mark.parametrize("name", ["walk.mp4", "Cook_p02_r00_c03.mp4", "Cook_pXX_r00_v02_c03.mp4", "_p02_r00_v02_c03.mp4"])
def test_rejects_other_names_with_the_expected_pattern(name):
    assert not is_smarthome_name(name)
    with pytest.raises(ValueError, match="Cook.Cleandishes_p02_r00_v02_c03.mp4"):
        parse_smarthome_name(name)
