"""Builds tiny wheels of rustletest-tiny (versions given) into a directory."""
import sys
import zipfile

out = sys.argv[1]
for version in sys.argv[2:]:
    dist = f"rustletest_tiny-{version}.dist-info"
    files = {
        "rustletest_tiny/__init__.py": f"VERSION = {version!r}\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: rustletest-tiny\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: rustle\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{dist}/RECORD"] = "".join(f"{n},,\n" for n in files) + f"{dist}/RECORD,,\n"
    with zipfile.ZipFile(f"{out}/rustletest_tiny-{version}-py3-none-any.whl", "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
