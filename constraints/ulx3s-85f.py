"""ULX3S: ESP32 GPIO0 (pin L2) held high so the ESP32 does not drop into its
bootloader and reset the FPGA (as in the ULX3S examples). amaranth-boards only
offers it inside the whole "esp32" resource, whose other outputs we leave alone."""

from amaranth.build import Attrs, Pins, Resource

RESOURCES = [Resource("wifi_gpio0", 0, Pins("L2", dir="o"), Attrs(IO_TYPE="LVCMOS33"))]
DRIVE_HIGH = ["wifi_gpio0"]
