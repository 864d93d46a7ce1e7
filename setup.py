from glob import glob

from setuptools import find_packages, setup

PACKAGE = 'lingbot_depth_ros'

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test', 'benchmarks']),
    # The bundled trained model: weights, config and model card.
    package_data={PACKAGE + '.model.bundled': ['*.safetensors', '*.json', '*.md']},
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + PACKAGE]),
        ('share/' + PACKAGE, ['package.xml']),
        ('share/' + PACKAGE + '/launch', glob('launch/*.launch.py')),
        ('share/' + PACKAGE + '/config', glob('config/*.yaml') + glob('config/*.xml')),
        ('share/' + PACKAGE + '/rviz', glob('rviz/*.rviz') + glob('rviz/*.json')),
    ],
    # colcon installs ROS dependencies through rosdep (package.xml); torch and the offline
    # tools' libraries come from pip, see README.
    install_requires=['setuptools', 'numpy', 'transforms3d'],
    extras_require={
        'model': ['torch', 'safetensors', 'huggingface_hub'],
        'tools': ['rosbags', 'tqdm', 'opencv-python-headless', 'scipy', 'Pillow', 'PyYAML'],
        # Training logs in TensorBoard format (CSV logs need nothing).
        'train': ['tensorboard'],
        # Export (onnx, onnxscript: torch.onnx's exporter) and the onnxruntime backend.
        # TensorRT is not an extra: install `tensorrt` by hand on a machine with a GPU.
        'onnx': ['onnx', 'onnxscript', 'onnxruntime'],
        # Camera SDK sources (sources/): RealSense. pyrealsense2 needs the system libusb-1.0.
        # Orbbec: `pip install --no-deps pyorbbecsdk2` (its declared dependencies are the
        # SDK examples' open3d, pygame, ...; the source needs none of them).
        'cameras': ['pyrealsense2'],
        'test': [
            'pytest', 'hypothesis', 'flake8', 'flake8-builtins', 'flake8-comprehensions',
            'flake8-docstrings', 'flake8-import-order', 'flake8-quotes', 'pydocstyle',
        ],
    },
    zip_safe=False,
    maintainer='lingbot_depth_ros maintainers',
    maintainer_email='maintainers@lingbot-depth-ros.invalid',
    description='LingBot-Depth RGB-D depth completion for ROS 2.',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'console_scripts': [
            'depth_completion_node = lingbot_depth_ros.node.node:main',
            'depth_completion_lifecycle_node = lingbot_depth_ros.node.lifecycle:lifecycle_main',
            'camera_completion_node = lingbot_depth_ros.node.camera_node:main',
            'lingbot-depth = lingbot_depth_ros.tools.cli:main',
        ],
    },
)
