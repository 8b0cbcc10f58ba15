"""The formal runner (``make formal``) finds every spec; the proofs run there, not here."""

from pathlib import Path

from tb.formal import run
from tb.formal.common import Property, spec_rtlil

SPECS = Path(run.__file__).parent


def test_every_spec_module_is_found_and_lists_properties():
    found = {module.__name__.rsplit(".", 1)[-1] for module in run.spec_modules()}
    assert found == {path.stem for path in SPECS.glob("spec_*.py")}
    for module in run.spec_modules():
        assert module.PROPERTIES, f"{module.__name__} lists no properties"
        for prop in module.PROPERTIES:
            assert isinstance(prop, Property)
            assert prop.mode in ("prove", "bmc", "struct")
            assert prop.mode == "struct" or prop.depth >= 1
            assert prop.mode != "bmc" or prop.why, f"{prop.name}: bounded, but not said why"
            assert prop.mode != "struct" or prop.streams


def test_property_names_are_unique():
    names = [prop.name for prop in run.properties()]
    assert len(names) == len(set(names))


def test_list_names_every_property(capsys):
    assert run.main(["--list"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == [prop.name for prop in run.properties()]


def test_a_spec_converts_with_its_checks():
    prop = next(prop for prop in run.properties() if prop.name == "skid_buffer_handshake")
    text = spec_rtlil(prop)
    assert "cell $check" in text and '\\FLAVOR "assert"' in text and '\\FLAVOR "assume"' in text
    assert "cell $anyseq" in text


def test_a_failure_is_reported_by_its_message():
    def build(m):
        pass
    il = spec_rtlil(Property("empty", build, "prove", 1, ""))
    assert run.check_messages(il) == {}
    il = ('attribute \\src "stream_rules(o):1"\n  cell $check $1\n'
          '    parameter \\FORMAT "o: valid dropped without a transfer"\n'
          '    parameter \\FLAVOR "assert"\n  end\n')
    log = "summary:   failed assertion top._witness_.check_3 at stream_rules(o):1\n"
    assert run.failures(log, il) == ["o: valid dropped without a transfer"]
    assert run.failures(log.replace("(o):1", "(i):1"), il) == ["stream_rules(i):1"]
