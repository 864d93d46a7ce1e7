# One entry point: `make test` and `make demo` create or refresh .venv from the repo's own
# files, then run. The install step re-runs only when one of SETUP_INPUTS changes.
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
PIP := $(VPY) -m pip --disable-pip-version-check -q
STAMP := $(VENV)/.installed
# Pure-Python ROS 2 packages that are not on PyPI (launch, launch_testing, ros2cli, ...):
# installed when the folder is there, so the launch tests run; they skip without it.
ROS_WHEELS ?= ../shared/ros-python-wheels
SETUP_INPUTS := requirements/ros.txt requirements/ros-python-wheels.txt \
	requirements/constraints.txt setup.py setup.cfg package.xml $(wildcard $(ROS_WHEELS)/*.whl)
PYTEST_ARGS ?=

# Tests talk real DDS on this host only.
export ROS_AUTOMATIC_DISCOVERY_RANGE ?= LOCALHOST
export RMW_IMPLEMENTATION ?= rmw_fastrtps_cpp

.PHONY: all setup test workspace-test demo bench docs lint clean
all: test

setup: $(STAMP)

$(STAMP): $(SETUP_INPUTS)
	@test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	@echo "setup: installing into $(VENV) (ROS 2 wheels, torch==2.13.0 CPU, onnxruntime, package) ..."
	$(PIP) install -c requirements/constraints.txt -r requirements/ros.txt
	$(PIP) install -c requirements/constraints.txt torch==2.13.0
	$(PIP) install -c requirements/constraints.txt -e '.[model,tools,onnx,train,cameras,test]'
	$(PIP) install -c requirements/constraints.txt --no-deps pyorbbecsdk2
	@# pyrealsense2 loads the system libusb-1.0; without it the camera tests skip.
	@if ! ldconfig -p | grep -q 'libusb-1.0.so.0'; then \
		echo "setup: installing libusb-1.0 for pyrealsense2"; \
		(apt-get install -y -qq libusb-1.0-0 || (apt-get update -qq && apt-get install -y -qq libusb-1.0-0)) \
			|| echo "setup: libusb-1.0 not installed: the RealSense tests will skip"; \
	fi
	@if [ -d "$(ROS_WHEELS)" ]; then \
		echo "setup: installing the ROS 2 launch packages from $(ROS_WHEELS)"; \
		$(PIP) install -c requirements/constraints.txt -r requirements/ros-python-wheels.txt && \
		$(PIP) install --no-deps $(ROS_WHEELS)/*.whl; \
	else \
		echo "setup: $(ROS_WHEELS) not found: launch and launch_testing tests will skip"; \
	fi
	@$(VPY) -c "import rclpy, torch, onnxruntime, lingbot_depth_ros; print('setup: ok, torch', torch.__version__)"
	@touch $(STAMP)

test: $(STAMP)
	$(VPY) -m pytest -q $(PYTEST_ARGS)

# colcon build + colcon test of the package in a temporary workspace (.ci/workspace-test).
workspace-test: $(STAMP)
	$(PIP) install -c requirements/constraints.txt -r requirements/workspace.txt
	.ci/workspace-test

demo: $(STAMP)
	$(VPY) -m lingbot_depth_ros.tools.demo

bench: $(STAMP)
	$(VPY) benchmarks/bench_msg_io.py
	$(VPY) benchmarks/bench_classical.py
	$(VPY) benchmarks/bench_refine_bag.py
	$(VPY) benchmarks/bench_node.py
	$(VPY) benchmarks/bench_frozen_subscriber.py
	$(VPY) benchmarks/bench_model.py
	$(VPY) benchmarks/bench_onnx.py
	$(VPY) benchmarks/bench_train.py
	$(VPY) benchmarks/bench_camera_node.py
	$(VPY) benchmarks/bench_multi_camera.py

docs: $(STAMP)
	$(VPY) test/docs_tables.py --write

lint: $(STAMP)
	$(VPY) -m pytest -q test/test_flake8.py test/test_pep257.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
