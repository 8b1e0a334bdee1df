"""parse_operations: the original's documented tag strings give the original's operation dicts."""

import unittest

from cpppo.enip.client.operations import parse_operations


def one(text, **kwds):
    (opr,) = list(parse_operations([text], **kwds))
    return opr


class ParseOperations(unittest.TestCase):
    def test_documented_example(self):
        self.assertEqual(list(parse_operations(["A_Tag[1-2]=(REAL)111,222"])), [{
            "data": [111.0, 222.0], "elements": 2, "method": "write",
            "path": [{"symbolic": "A_Tag"}, {"element": 1}], "tag_type": 202}])

    def test_reads(self):
        self.assertEqual(one("Tag"), {"path": [{"symbolic": "Tag"}]})
        self.assertEqual(one("Tag[3]"), {"path": [{"symbolic": "Tag"}, {"element": 3}]})
        self.assertEqual(one("Tag[1-10]"), {"path": [{"symbolic": "Tag"}, {"element": 1}], "elements": 10})
        self.assertEqual(one("Tag[0-9]+16"), {"path": [{"symbolic": "Tag"}, {"element": 0}],
                                              "elements": 10, "offset": 16})
        self.assertEqual(one("Motor.Speed"), {"path": [{"symbolic": "Motor"}, {"symbolic": "Speed"}]})
        self.assertEqual(one(" Tag [ 1 - 2 ] "), {"path": [{"symbolic": "Tag"}, {"element": 1}], "elements": 2})

    def test_writes_and_casts(self):
        self.assertEqual(one("Tag[1-3]=1,2,3")["tag_type"], 0xC3)
        self.assertEqual(one("Tag[1-3]=1,2,3")["data"], [1, 2, 3])
        self.assertEqual(one("Tag[1-2]=1,2.5")["data"], [1.0, 2.5])
        self.assertEqual(one("Tag[1-2]=1,2.5")["tag_type"], 0xCA)
        self.assertEqual(one("T=7", int_type="DINT")["tag_type"], 0xC4)
        for cast, code in (("SINT", 0xC2), ("INT", 0xC3), ("DINT", 0xC4), ("LINT", 0xC5), ("REAL", 0xCA),
                           ("LREAL", 0xCB), ("BOOL", 0xC1), ("SSTRING", 0xDA), ("STRING", 0xD0)):
            self.assertEqual(one(f"T=({cast})1")["tag_type"], code, cast)
        self.assertEqual(one("T[0-1]=(BOOL)1,false")["data"], [True, False])
        self.assertEqual(one('T=(SSTRING)"a, b"')["data"], ["a, b"])
        frag = one("Tag[0-9]+16=(DINT)4,5,6,7,8,9")
        self.assertEqual((frag["offset"], frag["elements"], frag["data"]), (16, 10, [4, 5, 6, 7, 8, 9]))

    def test_numeric(self):
        self.assertEqual(one("@1/1/7")["path"], [{"class": 1}, {"instance": 1}, {"attribute": 7}])
        self.assertEqual(one("@0x1FF/01/0x1A[99]")["path"],
                         [{"class": 511}, {"instance": 1}, {"attribute": 26}, {"element": 99}])
        self.assertEqual(one("@0b11/0o7/26")["path"], [{"class": 3}, {"instance": 7}, {"attribute": 26}])
        for text in ('@4/5/{"connection":100}', '@0x04/5/{"connection":100}', '@{"class":4}/5/{"connection":100}'):
            self.assertEqual(one(text)["path"], [{"class": 4}, {"instance": 5}, {"connection": 100}], text)
        self.assertEqual(one('@{"port":1,"link":"10.0.0.1"}/{"class":4}/{"instance":3}')["path"],
                         [{"port": 1, "link": "10.0.0.1"}, {"class": 4}, {"instance": 3}])

    def test_extra_keys_and_passthrough(self):
        ops = list(parse_operations(["Tag", {"path": [{"symbolic": "X"}]}, "", "# note"],
                                    route_path=[], send_path=""))
        self.assertEqual(ops, [{"path": [{"symbolic": "Tag"}], "route_path": [], "send_path": ""},
                               {"path": [{"symbolic": "X"}], "route_path": [], "send_path": ""}])

    def test_errors_name_string_and_part(self):
        cases = {"T=(INT)99999": "99999", "T=(FOO)1": "FOO", "Tag[3-1]": "[3-1]", "T[1-2]=1": "1 values",
                 "1bad": "1bad", "T=(SINT)x": "'x'", "@1/zz": "zz", "T+x": "'x'", "T=": "no values",
                 "T[0-3]+3=(DINT)1": "byte offset 3", "T=(SINT)200": "SINT range",
                 "T.5=2": "0 or 1", "T.5=1,0": "one value", "T.5=(REAL)0.5": "0 or 1", "T.64": "0..63"}
        for text, part in cases.items():
            with self.assertRaises(ValueError, msg=text) as caught:
                list(parse_operations([text]))
            self.assertIn(repr(text), str(caught.exception))
            self.assertIn(part, str(caught.exception))

    def test_a_bit_is_written_with_one_0_or_1(self):
        """Checked here, not on the wire: a bad bit value would otherwise stop the whole run."""
        for text in ("T.5=1", "T.5=0", "T.5=(BOOL)true", "T.5=(DINT)0", "M.Count.63=0x1"):
            self.assertEqual(len(one(text)["data"]), 1, text)
        self.assertEqual(one("T.5"), {"path": [{"symbolic": "T"}, {"bit": 5}]})
